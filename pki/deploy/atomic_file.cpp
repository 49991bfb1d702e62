#include "pki/deploy/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "pki/deploy/fault_point.h"

namespace certwatch::pki {
namespace {

Error sys_error(const std::string& what, const std::filesystem::path& p, int err) {
  return make_error(what + " " + p.string() + ": " + std::strerror(err),
                    err == EEXIST ? ErrorKind::exists : ErrorKind::io);
}

// Closes an fd and unlinks a temp file unless released: the failure paths leave nothing behind.
class TempFile {
 public:
  TempFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  int close_fd() {
    int r = ::close(fd_);
    fd_ = -1;
    return r;
  }
  void keep() { path_.clear(); }

 private:
  int fd_;
  std::string path_;
};

}  // namespace

Result<void> fsync_directory(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return sys_error("cannot open directory", dir, errno);
  int r = ::fsync(fd);
  int err = errno;
  ::close(fd);
  // Some file systems do not support fsync on directories; that is not a write failure.
  if (r != 0 && err != EINVAL && err != ENOTSUP)
    return sys_error("cannot fsync directory", dir, err);
  return {};
}

Result<void> make_directories(const std::filesystem::path& dir, mode_t mode) {
  if (dir.empty()) return {};
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode))
      return make_error(dir.string() + " exists and is not a directory", ErrorKind::io);
    return {};
  }
  auto parent = dir.parent_path();
  if (!parent.empty() && parent != dir) {
    auto r = make_directories(parent, mode);
    if (!r) return r;
  }
  if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST)
    return sys_error("cannot create directory", dir, errno);
  if (::chmod(dir.c_str(), mode) != 0) return sys_error("cannot chmod directory", dir, errno);
  if (!parent.empty()) return fsync_directory(parent);
  return {};
}

namespace {

// Writes bytes to a fsynced, closed temp file beside `path`; the TempFile unlinks it unless kept.
Result<std::unique_ptr<TempFile>> stage(const std::filesystem::path& path, std::string_view bytes,
                                        mode_t mode, uid_t uid = static_cast<uid_t>(-1),
                                        gid_t gid = static_cast<gid_t>(-1)) {
  const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  std::string templ = (dir / ("." + path.filename().string() + ".tmp.XXXXXX")).string();
  int fd = ::mkostemp(templ.data(), O_CLOEXEC);
  if (fd < 0) return sys_error("cannot create temporary file in", dir, errno);
  auto tmp = std::make_unique<TempFile>(fd, templ);
  // mkostemp creates 0600; set the final mode before any byte is written so the content is
  // never readable more widely than asked.
  if (::fchmod(tmp->fd(), mode) != 0) return sys_error("cannot chmod", tmp->path(), errno);
  // Ownership too, before the content and the rename: a reader never sees the file with the
  // writer's owner (the renewer keeps the server's owner and group).
  if ((uid != static_cast<uid_t>(-1) || gid != static_cast<gid_t>(-1)) &&
      ::fchown(tmp->fd(), uid, gid) != 0)
    return sys_error("cannot chown", tmp->path(), errno);
  if (fault_enospc()) return sys_error("cannot write", tmp->path(), ENOSPC);
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(tmp->fd(), p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("cannot write", tmp->path(), errno);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(tmp->fd()) != 0) return sys_error("cannot fsync", tmp->path(), errno);
  if (tmp->close_fd() != 0) return sys_error("cannot close", tmp->path(), errno);
  return tmp;
}

// Moves a staged file to `path`: rename (replace) or link + unlink (no-clobber).
Result<void> publish(TempFile& tmp, const std::filesystem::path& path, bool replace) {
  if (replace) {
    if (::rename(tmp.path().c_str(), path.c_str()) != 0)
      return sys_error("cannot rename onto", path, errno);
  } else {
    // link() fails with EEXIST instead of replacing: the no-clobber check and the write are one
    // step, so two processes cannot both "create" the same file.
    if (::link(tmp.path().c_str(), path.c_str()) != 0) {
      int err = errno;
      if (err == EEXIST) return make_error(path.string() + " exists", ErrorKind::exists);
      return sys_error("cannot create", path, err);
    }
    ::unlink(tmp.path().c_str());
  }
  tmp.keep();
  return {};
}

std::filesystem::path dir_of(const std::filesystem::path& p) {
  return p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
}

}  // namespace

Result<void> write_file_atomic(const std::filesystem::path& path, std::string_view bytes,
                               mode_t mode, AtomicWriteOptions options) {
  return write_files_atomic({FileWrite{path, bytes, mode}}, options);
}

Result<void> write_files_atomic(const std::vector<FileWrite>& files, AtomicWriteOptions options,
                                const std::function<void(size_t)>& after_rename) {
  std::vector<std::unique_ptr<TempFile>> staged;
  for (const auto& f : files) {
    auto t = stage(f.path, f.bytes, f.mode, f.uid, f.gid);
    if (!t) return t.error();
    staged.push_back(std::move(*t));
  }
  std::vector<std::filesystem::path> dirs;
  for (size_t i = 0; i < files.size(); ++i) {
    if (auto r = publish(*staged[i], files[i].path, options.replace); !r) {
      if (!options.replace)
        for (size_t j = 0; j < i; ++j) ::unlink(files[j].path.c_str());  // ours: created by link()
      return r;
    }
    const auto d = dir_of(files[i].path);
    if (std::find(dirs.begin(), dirs.end(), d) == dirs.end()) dirs.push_back(d);
    if (after_rename) after_rename(i);
  }
  for (const auto& d : dirs)
    if (auto r = fsync_directory(d); !r) return r;
  return {};
}

}  // namespace certwatch::pki
