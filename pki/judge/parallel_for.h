// The one worker pool of the batch walk: a fixed range shared out to a few threads by an
// atomic counter. Small ranges stay on the calling thread (starting threads costs more).
#pragma once

#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace certwatch::pki {

// Runs fn(i) for i in [0, n) on up to `threads` workers (the calling thread included).
template <class Fn>
void parallel_for(size_t n, unsigned threads, Fn fn) {
  if (threads <= 1 || n < 32) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < n;) fn(i);
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
}

}  // namespace certwatch::pki
