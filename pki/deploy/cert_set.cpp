#include "pki/deploy/cert_set.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include "pki/deploy/atomic_file.h"
#include "pki/deploy/fault_point.h"

namespace certwatch::pki {
namespace fs = std::filesystem;
namespace {

constexpr mode_t kPrivateMode = 0600;
constexpr mode_t kDefaultCertMode = 0644;

// The whole file, or nullopt if it does not exist; an error if it exists and cannot be read.
Result<std::optional<std::string>> read_optional(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::optional<std::string>{};
    return make_error("cannot read " + p.string() + ": " + std::strerror(errno), ErrorKind::io);
  }
  std::ostringstream s;
  s << in.rdbuf();
  return std::optional<std::string>{s.str()};
}

Result<CertSetBytes> read_set_dir(const fs::path& d, bool with_chain) {
  CertSetBytes set;
  for (auto [name, out] : {std::pair{"key.pem", &set.key}, std::pair{"cert.pem", &set.cert},
                           std::pair{"chain.pem", &set.chain}}) {
    if (!with_chain && out == &set.chain) continue;
    auto bytes = read_optional(d / name);
    if (!bytes) return bytes.error();
    if (!*bytes)
      return make_error("incomplete set in " + d.string() + ": " + name + " missing",
                        ErrorKind::io);
    *out = std::move(**bytes);
  }
  return set;
}

Result<void> write_set_dir(const fs::path& d, const CertSetBytes& set, bool with_chain) {
  if (auto r = make_directories(d, 0700); !r) return r;
  std::vector<FileWrite> writes{{d / "key.pem", set.key, kPrivateMode},
                                {d / "cert.pem", set.cert, kPrivateMode}};
  if (with_chain) writes.push_back({d / "chain.pem", set.chain, kPrivateMode});
  return write_files_atomic(writes);
}

// What the file at `p` should be written with: the configured values, else what it has now.
FileWrite live_write(const fs::path& p, const std::string& bytes, std::optional<mode_t> mode,
                     mode_t fallback, const CertSetOwnership& own) {
  FileWrite w{p, bytes, mode.value_or(fallback), own.uid, own.gid};
  struct stat st {};
  if (::stat(p.c_str(), &st) == 0) {
    if (!mode) w.mode = st.st_mode & 07777;
    if (w.uid == static_cast<uid_t>(-1)) w.uid = st.st_uid;
    if (w.gid == static_cast<gid_t>(-1)) w.gid = st.st_gid;
    // Keeping our own ownership needs no chown (and an unprivileged agent could not do another).
    if (w.uid == ::geteuid()) w.uid = static_cast<uid_t>(-1);
    if (w.gid == ::getegid()) w.gid = static_cast<gid_t>(-1);
  }
  return w;
}

long seq_of(const fs::path& p) {
  const auto s = p.filename().string();
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 12)
    return -1;
  return std::stol(s);
}

}  // namespace

CertSetStore::CertSetStore(fs::path dir, CertSetFiles files, int keep_previous)
    : dir_(std::move(dir)), files_(std::move(files)), keep_previous_(std::max(1, keep_previous)) {}

Result<std::optional<CertSetBytes>> CertSetStore::read_live() const {
  CertSetBytes set;
  auto key = read_optional(files_.key);
  if (!key) return key.error();
  auto cert = read_optional(files_.cert);
  if (!cert) return cert.error();
  if (!*key || !*cert) return std::optional<CertSetBytes>{};
  set.key = std::move(**key);
  set.cert = std::move(**cert);
  if (files_.chain) {
    auto chain = read_optional(*files_.chain);
    if (!chain) return chain.error();
    if (!*chain) return std::optional<CertSetBytes>{};
    set.chain = std::move(**chain);
  }
  return std::optional<CertSetBytes>{std::move(set)};
}

Result<bool> CertSetStore::recover(const CertSetOwnership& own) {
  std::error_code ec;
  if (!fs::exists(dir_ / "intent", ec)) return false;
  auto staged = read_set_dir(dir_ / "next", files_.chain.has_value());
  if (!staged)
    return make_error(
        "interrupted deploy in " + dir_.string() + " cannot be finished: " + staged.error().message,
        ErrorKind::io);
  if (auto r = write_live(*staged, own); !r) return r.error();
  return true;
}

Result<void> CertSetStore::deploy(const CertSetBytes& fresh, const CertSetOwnership& own) {
  if (auto r = make_directories(dir_, 0700); !r) return r;
  auto live = read_live();
  if (!live) return live.error();
  if (*live)
    if (auto r = archive(**live); !r) return r;
  if (auto r = stage(fresh); !r) return r;
  auto written = write_live(fresh, own);
  if (written || !*live) return written;
  // A live write failed (a full disk under the server's directory): put the old set back
  // now rather than leave a mix until the next start.
  if (auto back = write_live(**live, own); !back)
    return make_error(written.error().message + "; restoring the previous set failed too (" +
                          back.error().message + "), the next start finishes the new one",
                      ErrorKind::io);
  return make_error(written.error().message + "; the previous set is live again", ErrorKind::io);
}

Result<void> CertSetStore::restore_previous(const CertSetOwnership& own) {
  const auto sets = previous_sets();
  if (sets.empty())
    return make_error("no previous set to restore in " + dir_.string(), ErrorKind::failed);
  auto old = read_set_dir(sets.front(), files_.chain.has_value());
  if (!old) return old.error();
  if (auto r = stage(*old); !r) return r;
  if (auto r = write_live(*old, own); !r) return r;
  std::error_code ec;
  fs::remove_all(sets.front(), ec);  // live again; a leftover is harmless
  return {};
}

std::vector<fs::path> CertSetStore::previous_sets() const {
  std::vector<std::pair<long, fs::path>> found;
  std::error_code ec;
  for (fs::directory_iterator it(dir_ / "previous", ec), end; !ec && it != end; it.increment(ec))
    if (long n = seq_of(it->path()); n >= 0) found.emplace_back(n, it->path());
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<fs::path> out;
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

Result<void> CertSetStore::archive(const CertSetBytes& set) {
  const auto sets = previous_sets();
  const long next = sets.empty() ? 1 : seq_of(sets.front()) + 1;
  if (auto r =
          write_set_dir(dir_ / "previous" / std::to_string(next), set, files_.chain.has_value());
      !r)
    return r;
  std::error_code ec;
  for (size_t i = static_cast<size_t>(keep_previous_) - 1; i < sets.size(); ++i)
    fs::remove_all(sets[i], ec);
  return {};
}

Result<void> CertSetStore::stage(const CertSetBytes& set) {
  // 1. the whole set, durable, where recovery finds it; 2. the intent record; only then (the
  // caller) the live files. A crash before 2 leaves the old set live and no intent.
  if (auto r = write_set_dir(dir_ / "next", set, files_.chain.has_value()); !r) return r;
  return write_file_atomic(dir_ / "intent", "deploy next\n", kPrivateMode);
}

Result<void> CertSetStore::write_live(const CertSetBytes& set, const CertSetOwnership& own) {
  if (auto r =
          write_files_atomic({live_write(files_.key, set.key, own.key_mode, kPrivateMode, own)});
      !r)
    return r;
  fault_point("after_key_write");
  if (auto r = write_files_atomic(
          {live_write(files_.cert, set.cert, own.cert_mode, kDefaultCertMode, own)});
      !r)
    return r;
  fault_point("after_cert_write");
  if (files_.chain) {
    if (auto r = write_files_atomic(
            {live_write(*files_.chain, set.chain, own.cert_mode, kDefaultCertMode, own)});
        !r)
      return r;
  }
  fault_point("after_chain_write");
  std::error_code ec;
  fs::remove(dir_ / "intent", ec);
  if (ec)
    return make_error("cannot remove " + (dir_ / "intent").string() + ": " + ec.message(),
                      ErrorKind::io);
  return fsync_directory(dir_);
}

}  // namespace certwatch::pki
