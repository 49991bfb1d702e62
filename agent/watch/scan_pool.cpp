#include "agent/watch/scan_pool.h"

#include <algorithm>
#include <thread>

namespace certwatch::agent {

unsigned ScanPool::pick_threads(unsigned requested) {
  if (requested > 0) return requested;
  return std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
}

ScanPool::ScanPool(boost::asio::io_context& io, unsigned threads)
    : io_(io), threads_(pick_threads(threads)), pool_(threads_) {}

ScanPool::~ScanPool() {
  join();
}

void ScanPool::join() {
  pool_.join();
}

}  // namespace certwatch::agent
