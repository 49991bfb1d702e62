// dns-01 hooks: a real script is run with the placeholders substituted; a failing hook's first
// stderr line is the error; a hanging hook is killed at its deadline; propagation is waited.
#include "agent/acme/dns_hook_solver.h"

#include <sys/stat.h>

#include <fstream>

#include "pki/load/load.h"
#include "support/fixtures.h"
#include "support/solver_loop.h"

namespace {

using certwatch::agent::acme::DnsHookSettings;
using certwatch::agent::acme::DnsHookSolver;

std::filesystem::path script(const testing::TempDir& d, const std::string& name,
                             const std::string& body) {
  const auto p = d.path() / name;
  std::ofstream(p) << "#!/bin/sh\n" << body << "\n";
  ::chmod(p.c_str(), 0755);
  return p;
}

}  // namespace

TEST_CASE("dns-01 hooks run as argv with {name}, {value} and {identifier}", "[acme][dns01]") {
  testing::TempDir d;
  testing::LoopThread loop;
  const auto log = d.path() / "log";
  const auto hook = script(
      d, "hook", "printf '%s|' \"$@\" >> '" + log.string() + "'; echo >> '" + log.string() + "'");
  DnsHookSettings s;
  s.set = {hook.string(), "set", "{name}", "{value}", "id={identifier}"};
  s.clear = {hook.string(), "clear", "{name}"};
  s.propagation = std::chrono::milliseconds(300);
  DnsHookSolver solver(loop.io, s);
  CHECK(solver.describe() == "dns-01 hook " + hook.string());
  const auto c = testing::make_challenge("dns-01", "t1");
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(loop.wait([&](auto done) { solver.present(c, done); }).ok());
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(300));  // propagation
  REQUIRE(loop.wait([&](auto done) { solver.cleanup(c, done); }).ok());
  CHECK(*certwatch::pki::read_limited(log) ==
        "set|_acme-challenge.broker.example.|txt-value-t1|id=broker.example|\n"
        "clear|_acme-challenge.broker.example.|\n");
}

TEST_CASE("a failing dns-01 hook fails with its first stderr line, a hanging one is killed",
          "[acme][dns01]") {
  testing::TempDir d;
  testing::LoopThread loop;
  DnsHookSettings s;
  s.set = {
      script(d, "fail", "echo 'zone example. is not ours' >&2; echo second >&2; exit 3").string()};
  s.clear = {script(d, "hang", "sleep 30").string()};
  s.hook_timeout = std::chrono::milliseconds(500);
  DnsHookSolver solver(loop.io, s);
  const auto c = testing::make_challenge("dns-01", "t2");
  auto r = loop.wait([&](auto done) { solver.present(c, done); });
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message ==
        "dns-01 set hook " + s.set[0] + " exited with 3: zone example. is not ours");
  const auto start = std::chrono::steady_clock::now();
  r = loop.wait([&](auto done) { solver.cleanup(c, done); });
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Matchers::Contains("did not finish within 500 ms (killed)"));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
  s.set = {"/nonexistent/hook"};
  DnsHookSolver missing(loop.io, s);
  r = loop.wait([&](auto done) { missing.present(c, done); });
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "dns-01 set hook /nonexistent/hook: No such file or directory");
}

TEST_CASE("cleanup ends the propagation wait of its challenge (a cancelled order)",
          "[acme][dns01]") {
  testing::TempDir d;
  testing::LoopThread loop;
  DnsHookSettings s;
  s.set = {script(d, "set", "exit 0").string()};
  s.clear = {script(d, "clear", "exit 0").string()};
  s.propagation = std::chrono::seconds(60);
  DnsHookSolver solver(loop.io, s);
  const auto c = testing::make_challenge("dns-01", "t3");
  auto presented = std::make_shared<std::promise<certwatch::Result<void>>>();
  auto answer = presented->get_future();
  boost::asio::post(loop.io, [&solver, &c, presented] {
    solver.present(c, [presented](certwatch::Result<void> r) { presented->set_value(r); });
  });
  // The set hook running or the 60 s wait begun: the order gives up and cleans up.
  REQUIRE(answer.wait_for(std::chrono::milliseconds(300)) == std::future_status::timeout);
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(loop.wait([&](auto done) { solver.cleanup(c, done); }).ok());
  // Before, the wait held the agent's io_context for the whole propagation after a SIGTERM.
  REQUIRE(answer.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}
