// run_argv and start_argv: results and messages of real programs; a stopping agent ends the
// commands in flight (SIGTERM, then SIGKILL for one that ignores it) so that io.run() returns
// within seconds instead of after their timeouts. Each test case is a process of its own
// (catch_discover_tests), so stop_argv_runs() here stops nothing elsewhere.
#include "agent/process/argv_runner.h"

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/steady_timer.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <optional>

using certwatch::agent::run_argv;
using certwatch::agent::start_argv;
using certwatch::agent::stop_argv_runs;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

TEST_CASE("run_argv reports success, the exit status with the first stderr line, and a timeout",
          "[acme][argv]") {
  CHECK(run_argv({"true"}, 5s, "test command").ok());
  const auto failed =
      run_argv({"sh", "-c", "echo 'first line' >&2; echo second >&2; exit 3"}, 5s, "test command");
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().message == "test command sh exited with 3: first line");
  const auto start = Clock::now();
  const auto slow = run_argv({"sleep", "5"}, 300ms, "test command");
  REQUIRE_FALSE(slow.ok());
  CHECK(slow.error().message == "test command sleep did not finish within 300 ms (killed)");
  CHECK(Clock::now() - start < 3s);
  const auto missing = run_argv({"/nonexistent/hook"}, 1s, "test command");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message == "test command /nonexistent/hook: No such file or directory");
}

TEST_CASE("a command inherits no descriptor of ours beyond stdin, stdout and stderr", "[argv]") {
  // Opened without O_CLOEXEC, as Asio opens its sockets: a reload command that outlives a
  // killed agent must not keep its listening port.
  const int fd = ::open("/dev/null", O_RDONLY);
  REQUIRE(fd > 2);
  const auto r = run_argv(
      {"sh", "-c",
       "if [ -e /proc/self/fd/" + std::to_string(fd) + " ]; then echo inherited >&2; exit 1; fi"},
      5s, "test command");
  ::close(fd);
  INFO((r ? std::string() : r.error().message));
  CHECK(r.ok());
}

TEST_CASE("a stopping agent ends the commands in flight, even one that ignores SIGTERM",
          "[acme][argv]") {
  boost::asio::io_context io;
  std::optional<certwatch::Result<void>> polite, stubborn;
  start_argv(io, {"sleep", "30"}, 60s, "dns-01 set hook", [&](auto r) { polite = std::move(r); });
  start_argv(io, {"sh", "-c", "trap '' TERM; exec sleep 30"}, 60s, "reload command",
             [&](auto r) { stubborn = std::move(r); });
  boost::asio::steady_timer soon(io, 300ms);
  soon.async_wait([](const boost::system::error_code&) { stop_argv_runs(); });
  const auto start = Clock::now();
  io.run_for(20s);  // returns early: the work guards end with the commands
  const auto took = Clock::now() - start;
  REQUIRE(polite.has_value());
  REQUIRE(stubborn.has_value());
  CHECK_FALSE(polite->ok());
  CHECK(polite->error().message == "dns-01 set hook sleep ended by signal 15");
  CHECK_FALSE(stubborn->ok());
  CHECK(stubborn->error().message == "reload command sh killed: the agent is stopping");
  CHECK(took < 10s);
  // After the stop, a new command is ended at once too (SIGTERM, or SIGKILL: the grace is over).
  const auto again = Clock::now();
  const auto after = run_argv({"sleep", "30"}, 60s, "test command");
  REQUIRE_FALSE(after.ok());
  CHECK_THAT(after.error().message,
             Catch::Matchers::Contains("test command sleep ended by signal 15") ||
                 Catch::Matchers::Contains("test command sleep killed: the agent is stopping"));
  CHECK(Clock::now() - again < 5s);
}
