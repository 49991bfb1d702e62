// One transaction per managed set, across threads and processes (issue #22): an exclusive
// flock(2) on <store dir>/lock, held from recovery through issue, deploy, reload, verify and
// rollback, by the agent's scheduler and by `certwatch renew` alike. The kernel drops the lock
// when its holder exits, a crash included, so a stale lock cannot outlive its process; the
// file's text only says who holds it ("pid 123 agent 1765150000"), for the waiter's message.
// The descriptor is close-on-exec: a reload command never inherits the lock.
// Thread-safety: one DeployLock per thread; two DeployLocks on one directory exclude each
// other even inside one process (flock locks belong to the open file description).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace certwatch::pki {

// Who holds a lock, as its holder wrote it.
struct LockHolder {
  pid_t pid = 0;
  std::string who;    // "agent" or "renew"
  int64_t since = 0;  // POSIX seconds
};

// "pid 123 (agent) since 2026-12-08T01:02:03Z"; "another process" when the text was unreadable.
std::string describe(const std::optional<LockHolder>& holder);

class DeployLock {
 public:
  // The lock of the store directory `dir` (created if missing), without waiting: nullopt inside
  // the result while another holder has it. An error when the lock file cannot be opened.
  static Result<std::optional<DeployLock>> try_acquire(const std::filesystem::path& dir,
                                                       std::string_view who);
  // Who holds the lock of `dir` now, as far as its file says; nullopt when nobody said.
  static std::optional<LockHolder> holder(const std::filesystem::path& dir);

  DeployLock(DeployLock&& other) noexcept;
  DeployLock& operator=(DeployLock&& other) noexcept;
  DeployLock(const DeployLock&) = delete;
  DeployLock& operator=(const DeployLock&) = delete;
  ~DeployLock();

 private:
  explicit DeployLock(int fd) : fd_(fd) {}
  void release();
  int fd_ = -1;
};

}  // namespace certwatch::pki
