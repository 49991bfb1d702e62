#include "pki/load/read_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace certwatch::pki {
namespace {

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a plain file";
}

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

Error too_large(const std::filesystem::path& path, std::uintmax_t size, std::uintmax_t limit,
                bool grew) {
  return make_error(path.string() + ": " + (grew ? "more than " : "") + std::to_string(size) +
                    " bytes, over the " + describe_size(limit) + " limit");
}

}  // namespace

std::string describe_size(std::uintmax_t bytes) {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0)
    return std::to_string(bytes / (1024 * 1024)) + " MiB";
  if (bytes >= 1024 && bytes % 1024 == 0) return std::to_string(bytes / 1024) + " KiB";
  return std::to_string(bytes) + " bytes";
}

Result<std::string> read_regular_file(const std::filesystem::path& path, std::uintmax_t limit,
                                      struct stat* st_out) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
  Fd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)};
  if (fd.fd < 0) return make_error(path.string() + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0) return make_error(path.string() + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    return make_error(path.string() + ": not a regular file (" + kind_of(st.st_mode) + ")");
  if (static_cast<std::uintmax_t>(st.st_size) > limit)
    return too_large(path, static_cast<std::uintmax_t>(st.st_size), limit, false);
  if (st_out != nullptr) *st_out = st;
  std::string data;
  data.reserve(static_cast<size_t>(st.st_size));
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd.fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(path.string() + ": " + std::strerror(errno));
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > limit) return too_large(path, limit, limit, true);  // grew while read
  }
  return data;
}

}  // namespace certwatch::pki
