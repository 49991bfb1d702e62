// For tests that run the agent's Daemon in-process: run a function on its io_context thread
// (where all agent state lives) and get the result, with a bounded wait. Header-only: only
// the tests that link the agent include it.
#pragma once

#include <utility>  // before asio: Boost 1.74 + GCC 12 + C++20

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>

namespace testing {

template <class Fn>
auto on_loop(boost::asio::io_context& io, Fn fn) {
  std::promise<decltype(fn())> done;
  auto result = done.get_future();
  boost::asio::post(io, [&] { done.set_value(fn()); });
  REQUIRE(result.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  return result.get();
}

}  // namespace testing
