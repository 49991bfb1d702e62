// An IP literal is answered without a lookup, posted; an abandoned lookup answers nothing.
// Names against a resolver are exercised by tests/integration/probe_test.cpp.
#include "agent/probe/resolve.h"

#include <catch2/catch.hpp>
#include <optional>

using namespace certwatch::agent::probe;

TEST_CASE("an IP literal resolves to itself, without a lookup", "[agent][probe]") {
  boost::asio::io_context io;
  std::optional<Resolved> got;
  const auto pending = async_resolve(io, "::1", std::chrono::milliseconds(1000),
                                     [&](Resolved r) { got = std::move(r); });
  CHECK_FALSE(got);
  io.run();
  REQUIRE(got);
  REQUIRE(got->ok());
  REQUIRE((*got)->size() == 1);
  CHECK((*got)->front().to_string() == "::1");
}

TEST_CASE("an abandoned lookup answers nothing", "[agent][probe]") {
  boost::asio::io_context io;
  bool called = false;
  const auto pending = async_resolve(io, "127.0.0.1", std::chrono::milliseconds(1000),
                                     [&](const Resolved&) { called = true; });
  pending->abandon();
  io.run();
  CHECK_FALSE(called);
}
