#include "pki/deploy/deploy_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <utility>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>

#include "base/duration.h"
#include "pki/deploy/atomic_file.h"

namespace certwatch::pki {
namespace fs = std::filesystem;
namespace {

fs::path lock_path(const fs::path& dir) {
  return dir / "lock";
}

}  // namespace

std::string describe(const std::optional<LockHolder>& holder) {
  if (!holder) return "another process";
  return "pid " + std::to_string(holder->pid) + " (" + holder->who + ") since " +
         certwatch::format_iso8601(holder->since);
}

Result<std::optional<DeployLock>> DeployLock::try_acquire(const fs::path& dir,
                                                          std::string_view who) {
  if (auto r = make_directories(dir, 0700); !r) return r.error();
  const auto path = lock_path(dir);
  // Never unlinked: a waiter holding the old inode would lock a file nobody else sees.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  // flock needs no write access: a lock file another user made (root's `certwatch renew`
  // beside the agent's own user) still excludes; only who holds it goes unsaid.
  if (fd < 0 && errno == EACCES) fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return make_error("cannot open " + path.string() + ": " + std::strerror(errno), ErrorKind::io);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) return std::optional<DeployLock>{};
    return make_error("cannot lock " + path.string() + ": " + std::strerror(err), ErrorKind::io);
  }
  // Who holds it, for the waiter's message only: a failed write loses that sentence, not the
  // lock, so it is not an error.
  const std::string text = "pid " + std::to_string(::getpid()) + " " + std::string(who) + " " +
                           std::to_string(std::time(nullptr)) + "\n";
  [[maybe_unused]] const bool said =
      ::ftruncate(fd, 0) == 0 && ::pwrite(fd, text.data(), text.size(), 0) > 0;
  return std::optional<DeployLock>{DeployLock(fd)};
}

std::optional<LockHolder> DeployLock::holder(const fs::path& dir) {
  std::ifstream in(lock_path(dir));
  std::string word;
  LockHolder h;
  if (!(in >> word >> h.pid >> h.who >> h.since) || word != "pid" || h.pid <= 0)
    return std::nullopt;
  return h;
}

DeployLock::DeployLock(DeployLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

DeployLock& DeployLock::operator=(DeployLock&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

DeployLock::~DeployLock() {
  release();
}

void DeployLock::release() {
  if (fd_ < 0) return;
  // The holder's words go before the lock does, so that nobody reads them as the next
  // holder's; closing the descriptor releases the flock.
  [[maybe_unused]] const bool cleared = ::ftruncate(fd_, 0) == 0;
  ::close(fd_);
  fd_ = -1;
}

}  // namespace certwatch::pki
