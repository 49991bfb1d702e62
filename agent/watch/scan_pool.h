// A small thread pool for the expensive part of a large scan (reading, parsing and judging
// thousands of files). Work runs on the pool; its result is posted back to the io_context,
// whose one thread owns the inventory, so completions need no locks. A work guard per job
// keeps io_context::run() alive until the job's result has been delivered.
//
// Thread-safety: submit() may be called from any thread; `work` must only touch what it
// captured (and thread-safe shared objects such as pki::VerifyCache); `done` runs on the
// io_context thread.
#pragma once

#include <utility>  // before asio: Boost 1.74 + GCC 12 + C++20

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <memory>
#include <type_traits>

namespace certwatch::agent {

class ScanPool {
 public:
  // threads == 0: the hardware concurrency, capped at 4 (the agent shares the host).
  explicit ScanPool(boost::asio::io_context& io, unsigned threads = 0);
  ~ScanPool();  // waits for queued work
  ScanPool(const ScanPool&) = delete;
  ScanPool& operator=(const ScanPool&) = delete;

  unsigned threads() const { return threads_; }

  template <class Work, class Done>
  void submit(Work work, Done done) {
    auto guard = boost::asio::make_work_guard(io_);
    boost::asio::post(pool_, [this, work = std::move(work), done = std::move(done),
                              guard = std::move(guard)]() mutable {
      using R = std::invoke_result_t<Work&>;
      auto result = std::make_shared<R>(work());
      boost::asio::post(io_, [done = std::move(done), result, guard = std::move(guard)]() mutable {
        done(std::move(*result));
      });
    });
  }

  // Blocks until every submitted job ran (their completions may still be queued on io).
  void join();

 private:
  static unsigned pick_threads(unsigned requested);

  boost::asio::io_context& io_;
  unsigned threads_;
  boost::asio::thread_pool pool_;
};

}  // namespace certwatch::agent
