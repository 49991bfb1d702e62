// pki/deploy/deploy_lock.h: one holder per store directory, inside one process and across
// processes (flock(1) as the other process), the holder named for the waiter, the lock gone
// with its holder, and never inherited by a child (a reload command).
#include "pki/deploy/deploy_lock.h"

#include <unistd.h>

#include <catch2/catch.hpp>

#include "support/fixtures.h"

using certwatch::pki::DeployLock;
namespace fs = std::filesystem;

namespace deploy_lock_test {
// Exit status of `flock -n` on the lock file: 0 when it could take it, 1 when it is held.
int other_process_takes(const fs::path& dir) {
  return testing::run({"flock", "-n", (dir / "lock").string(), "true"}).exit_code;
}
}  // namespace deploy_lock_test

TEST_CASE("deploy lock: one holder at a time, named for the waiter, released with its holder",
          "[pki][deploy_lock]") {
  testing::TempDir tmp;
  const auto dir = tmp / "state" / "renew" / "web";
  {
    auto first = DeployLock::try_acquire(dir, "agent");
    REQUIRE(first.ok());
    REQUIRE(first->has_value());
    // A second holder in the same process and another process both find it held.
    auto second = DeployLock::try_acquire(dir, "renew");
    REQUIRE(second.ok());
    CHECK_FALSE(second->has_value());
    CHECK(deploy_lock_test::other_process_takes(dir) == 1);
    const auto holder = DeployLock::holder(dir);
    REQUIRE(holder);
    CHECK(holder->pid == ::getpid());
    CHECK(holder->who == "agent");
    CHECK(holder->since > 0);
    CHECK(certwatch::pki::describe(holder).rfind(
              "pid " + std::to_string(::getpid()) + " (agent) since ", 0) == 0);
    // Moved (into a transaction's callback), it is still held.
    auto moved = std::move(**first);
    CHECK(deploy_lock_test::other_process_takes(dir) == 1);
  }
  CHECK_FALSE(DeployLock::holder(dir));  // the holder's words went with it
  CHECK(deploy_lock_test::other_process_takes(dir) == 0);
  auto again = DeployLock::try_acquire(dir, "renew");
  REQUIRE(again.ok());
  CHECK(again->has_value());
  CHECK(certwatch::pki::describe(std::nullopt) == "another process");
}

TEST_CASE("deploy lock: a child started while it is held (a reload command) does not keep it",
          "[pki][deploy_lock]") {
  testing::TempDir tmp;
  const auto dir = tmp / "store";
  std::unique_ptr<testing::Process> child;
  {
    auto lock = DeployLock::try_acquire(dir, "agent");
    REQUIRE(lock.ok());
    REQUIRE(lock->has_value());
    child = std::make_unique<testing::Process>(std::vector<std::string>{"sleep", "5"},
                                               tmp / "child.log");
  }
  // An inherited descriptor would hold the flock for as long as the child lives (5 s). Until
  // the child has exec'd, its fork still shares the descriptor (close-on-exec closes it at the
  // exec), which takes a moment under the sanitizers: hence the short bounded wait.
  CHECK(testing::eventually([&] { return deploy_lock_test::other_process_takes(dir) == 0; },
                            std::chrono::seconds(2)));
  CHECK(child->running());
}

TEST_CASE("deploy lock: a directory that cannot be created is an error, not a lock",
          "[pki][deploy_lock]") {
  testing::TempDir tmp;
  testing::write_file(tmp / "file", "x");
  auto r = DeployLock::try_acquire(tmp / "file" / "renew", "agent");
  CHECK_FALSE(r.ok());
}
