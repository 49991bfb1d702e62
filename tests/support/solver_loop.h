// The io_context thread and the blocking wait the solver tests share: solvers live on the
// agent's io_context and answer through callbacks; the tests drive them from the main thread.
#pragma once

#include <utility>  // before asio: Boost 1.74 + GCC 12 + C++20

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <future>
#include <thread>

#include "agent/acme/challenge_solver.h"

namespace testing {

class LoopThread {
 public:
  LoopThread() : guard_(boost::asio::make_work_guard(io)), thread_([this] { io.run(); }) {}
  ~LoopThread() {
    guard_.reset();
    io.stop();
    thread_.join();
  }
  boost::asio::io_context io;

  // Runs `start(done)` on the loop and waits (bounded) for `done`'s result.
  template <class Start>
  certwatch::Result<void> wait(Start start, std::chrono::seconds limit = std::chrono::seconds(20)) {
    auto p = std::make_shared<std::promise<certwatch::Result<void>>>();
    auto f = p->get_future();
    boost::asio::post(io, [start, p]() mutable {
      start([p](certwatch::Result<void> r) { p->set_value(std::move(r)); });
    });
    REQUIRE(f.wait_for(limit) == std::future_status::ready);
    return f.get();
  }

 private:
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

// A command's stdout (curl as the HTTP oracle).
inline std::string run_capture(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[512];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  ::pclose(p);
  return out;
}

inline certwatch::agent::acme::Challenge make_challenge(const std::string& type,
                                                        const std::string& token) {
  certwatch::agent::acme::Challenge c;
  c.type = type;
  c.identifier = "broker.example";
  c.token = token;
  c.key_authorization = token + ".thumbprint-of-the-account-key";
  c.dns_value = "txt-value-" + token;
  return c;
}

}  // namespace testing
