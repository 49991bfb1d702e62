// The agent's Daemon run in-process on a ManualClock, for tests that move certificate time:
// its loop on a thread, on_loop() to touch its state there, advance_to() to move the clock,
// and a clean shutdown on destruction (or stop()). Header-only: only tests that link the
// agent include it.
#pragma once

#include <utility>  // before asio: Boost 1.74 + GCC 12 + C++20

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <thread>

#include "agent/clock/clock.h"
#include "agent/daemon/daemon.h"
#include "support/on_loop.h"

namespace testing {

class InProcessAgent {
 public:
  InProcessAgent(const std::filesystem::path& config, int64_t start_seconds)
      : clock_(io_, start_seconds) {
    certwatch::agent::DaemonOptions opt;
    opt.config_path = config;
    opt.clock = &clock_;
    opt.scan_threads = 1;
    daemon_ = std::make_unique<certwatch::agent::Daemon>(io_, opt);
    loop_ = std::thread([this] { rc_ = daemon_->run(); });
  }
  ~InProcessAgent() { stop(); }
  InProcessAgent(const InProcessAgent&) = delete;
  InProcessAgent& operator=(const InProcessAgent&) = delete;

  // Stops as SIGTERM does and returns run()'s exit code.
  int stop() {
    if (loop_.joinable()) {
      boost::asio::post(io_, [this] { daemon_->shutdown(); });
      loop_.join();
    }
    return rc_;
  }
  template <class Fn>
  auto on_loop(Fn fn) {
    return testing::on_loop(io_, std::move(fn));
  }
  bool ready() {
    return on_loop([this] { return daemon_->status().ready; });
  }
  void advance_to(int64_t at) {
    on_loop([&] {
      clock_.advance(std::chrono::seconds(at - clock_.now()));
      return 0;
    });
  }
  int64_t now() {
    return on_loop([this] { return clock_.now(); });
  }
  certwatch::agent::Daemon& daemon() { return *daemon_; }

 private:
  boost::asio::io_context io_{1};
  certwatch::agent::ManualClock clock_;
  std::unique_ptr<certwatch::agent::Daemon> daemon_;
  std::thread loop_;
  int rc_ = -1;
};

}  // namespace testing
