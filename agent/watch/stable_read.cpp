#include "agent/watch/stable_read.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <string_view>
#include <thread>

#include "pki/load/read_file.h"

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

certwatch::Error errno_error(const std::filesystem::path& path, const char* what, int err) {
  return certwatch::make_error(path.string() + ": " + what + ": " + std::strerror(err));
}

constexpr std::string_view kKeptChanging = "content kept changing";

}  // namespace

bool modified_within(const FileStamp& stamp, std::chrono::milliseconds window) {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);  // mtime is wall-clock time
  const int64_t age_ns =
      (static_cast<int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec) - stamp.mtime_ns;
  return age_ns >= 0 && age_ns < static_cast<int64_t>(window.count()) * 1000000;
}

ContentHash content_hash(std::string_view bytes) {
  ContentHash h{};
  unsigned int len = 0;
  // EVP_Digest only fails on allocation failure; a zero hash then simply forces a re-judge.
  if (EVP_Digest(bytes.data(), bytes.size(), h.data(), &len, EVP_sha256(), nullptr) != 1) h.fill(0);
  return h;
}

certwatch::Result<FileStamp> stat_file(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return errno_error(path, "stat", errno);
  return stamp_of(st);
}

certwatch::Result<RawRead> read_file_once(const std::filesystem::path& path,
                                          std::size_t max_bytes) {
  // The one rule for files read by name (pki/load/read_file.h): non-blocking, regular, capped.
  struct stat st {};
  auto bytes = pki::read_regular_file(path, max_bytes, &st);
  if (!bytes) return bytes.error();
  RawRead r;
  r.bytes = std::move(*bytes);
  r.stamp = stamp_of(st);
  return r;
}

certwatch::Result<StableContent> stable_read(const std::filesystem::path& path,
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
    if (cur.hash == prev.hash && !modified_within(cur.stamp, options.settle)) return cur;
    prev = std::move(cur);
    if (options.backoff.count() > 0) std::this_thread::sleep_for(options.backoff * (attempt - 1));
  }
  return certwatch::make_error(path.string() + ": " + std::string(kKeptChanging) + " over " +
                               std::to_string(max_attempts) + " reads");
}

bool is_unstable_read(const certwatch::Error& error) {
  return error.message.find(kKeptChanging) != std::string::npos;
}

}  // namespace certwatch::agent
