#include "agent/watch/stable_read.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include <openssl/evp.h>

namespace certwatch::agent {
namespace {

FileStamp stamp_of(const struct stat& st) {
  FileStamp s;
  s.dev = static_cast<uint64_t>(st.st_dev);
  s.ino = static_cast<uint64_t>(st.st_ino);
  s.size = static_cast<int64_t>(st.st_size);
  s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  s.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
  return s;
}

pki::Error errno_error(const std::filesystem::path& path, const char* what, int err) {
  return pki::make_error(path.string() + ": " + what + ": " + std::strerror(err));
}

// Closes the descriptor on every path out of read_file_once.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

ContentHash content_hash(std::string_view bytes) {
  ContentHash h{};
  unsigned int len = 0;
  // EVP_Digest only fails on allocation failure; a zero hash then simply forces a re-judge.
  if (EVP_Digest(bytes.data(), bytes.size(), h.data(), &len, EVP_sha256(), nullptr) != 1) h.fill(0);
  return h;
}

pki::Result<FileStamp> stat_file(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return errno_error(path, "stat", errno);
  return stamp_of(st);
}

pki::Result<RawRead> read_file_once(const std::filesystem::path& path, std::size_t max_bytes) {
  FdCloser fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)};
  if (fd.fd < 0) return errno_error(path, "open", errno);
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0) return errno_error(path, "stat", errno);
  if (!S_ISREG(st.st_mode)) return pki::make_error(path.string() + ": not a regular file");
  if (static_cast<std::size_t>(st.st_size) > max_bytes)
    return pki::make_error(path.string() + ": larger than " + std::to_string(max_bytes) + " bytes");
  RawRead r;
  r.stamp = stamp_of(st);
  r.bytes.reserve(static_cast<std::size_t>(st.st_size));
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(path, "read", errno);
    }
    if (n == 0) break;
    r.bytes.append(buf, static_cast<std::size_t>(n));
    if (r.bytes.size() > max_bytes)  // grew while we read
      return pki::make_error(path.string() + ": larger than " + std::to_string(max_bytes) + " bytes");
  }
  return r;
}

pki::Result<StableContent> stable_read(const std::filesystem::path& path,
                                       const StableReadOptions& options) {
  const auto read_once = [&](void) {
    return options.reader ? options.reader(path, options.max_bytes)
                          : read_file_once(path, options.max_bytes);
  };
  const int max_attempts = std::max(2, options.max_attempts);
  auto first = read_once();
  if (!first) return first.error();
  StableContent prev{std::move(first->bytes), {}, first->stamp, 1};
  prev.hash = content_hash(prev.bytes);
  for (int attempt = 2; attempt <= max_attempts; ++attempt) {
    auto next = read_once();
    if (!next) return next.error();
    StableContent cur{std::move(next->bytes), {}, next->stamp, attempt};
    cur.hash = content_hash(cur.bytes);
    if (cur.hash == prev.hash) return cur;
    prev = std::move(cur);
    if (options.backoff.count() > 0) std::this_thread::sleep_for(options.backoff * (attempt - 1));
  }
  return pki::make_error(path.string() + ": content kept changing over " +
                         std::to_string(max_attempts) + " reads");
}

}  // namespace certwatch::agent
