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

Result<Recovery> CertSetStore::recover(const CertSetOwnership& own) {
  std::error_code ec;
  if (!fs::exists(dir_ / "intent", ec)) return Recovery{};
  std::string why;
  if (auto staged = read_set_dir(dir_ / "next", files_.chain.has_value()); !staged)
    why = staged.error().message;
  else if (auto r = write_live(*staged, own); !r)
    why = r.error().message;
  else
    return Recovery{Recovery::Outcome::finished, ""};
  // The new set cannot be finished now (and perhaps never: a staged file gone). Waiting for
  // it would leave the live files a mix for as long as that lasts, and block every later
  // renewal: the set it replaced goes back whole instead, and a fresh transaction follows.
  const long previous = intent_previous();
  if (previous > 0) {
    const auto set_dir = dir_ / "previous" / std::to_string(previous);
    auto old = read_set_dir(set_dir, files_.chain.has_value());
    if (!old)
      return make_error("interrupted deploy in " + dir_.string() + " cannot be finished (" + why +
                            ") nor undone (" + old.error().message + ")",
                        ErrorKind::io);
    if (auto r = write_live(*old, own); !r)
      return make_error("interrupted deploy in " + dir_.string() + " cannot be finished (" + why +
                            ") nor undone (" + r.error().message + ")",
                        ErrorKind::io);
    fs::remove_all(set_dir, ec);  // live again, as restore_previous() leaves it
    return Recovery{Recovery::Outcome::abandoned, why + "; the previous set is live again"};
  }
  // Nothing was live before it (the first deploy): the live files stay as they are, and the
  // fresh transaction sees them not match and issues.
  if (auto r = drop_intent(); !r) return r.error();
  return Recovery{Recovery::Outcome::abandoned, why + "; there was no previous set to restore"};
}

Result<void> CertSetStore::deploy(const CertSetBytes& fresh, const CertSetOwnership& own) {
  fault_point("before_deploy");
  if (auto r = make_directories(dir_, 0700); !r) return r;
  auto live = read_live();
  if (!live) return live.error();
  long previous = 0;
  if (*live) {
    auto seq = archive(**live);
    if (!seq) return seq.error();
    previous = *seq;
  }
  if (auto r = stage(fresh, previous); !r) return r;
  bool mixed = false;
  auto written = write_files(fresh, own, mixed);
  // A failed write put back what it had replaced (a full disk, a directory that cannot be
  // written): the previous set is live, whole, and no intent is left for recovery to redo.
  if (written || !mixed)
    if (auto r = drop_intent(); !r) return r;
  return written;
}

Result<void> CertSetStore::restore_previous(const CertSetOwnership& own) {
  const auto sets = previous_sets();
  if (sets.empty())
    return make_error("no previous set to restore in " + dir_.string(), ErrorKind::failed);
  auto old = read_set_dir(sets.front(), files_.chain.has_value());
  if (!old) return old.error();
  if (auto r = stage(*old, 0); !r) return r;
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

Result<long> CertSetStore::archive(const CertSetBytes& set) {
  const auto sets = previous_sets();
  const long next = sets.empty() ? 1 : seq_of(sets.front()) + 1;
  if (auto r =
          write_set_dir(dir_ / "previous" / std::to_string(next), set, files_.chain.has_value());
      !r)
    return r.error();
  std::error_code ec;
  for (size_t i = static_cast<size_t>(keep_previous_) - 1; i < sets.size(); ++i)
    fs::remove_all(sets[i], ec);
  return next;
}

Result<void> CertSetStore::stage(const CertSetBytes& set, long previous) {
  // 1. the whole set, durable, where recovery finds it; 2. the intent record, naming the
  // archive that undoes it; only then (the caller) the live files. A crash before 2 leaves the
  // old set live and no intent.
  if (auto r = write_set_dir(dir_ / "next", set, files_.chain.has_value()); !r) return r;
  return write_file_atomic(dir_ / "intent",
                           "deploy next previous " + std::to_string(previous) + "\n", kPrivateMode);
}

long CertSetStore::intent_previous() const {
  auto text = read_optional(dir_ / "intent");
  if (!text || !*text) return 0;
  std::istringstream in(**text);
  std::string deploy, next, word;
  long seq = 0;
  if (in >> deploy >> next >> word >> seq && word == "previous") return seq;
  // An intent from before it named its archive: the newest archive is the one its deploy
  // wrote, unless nothing was live then.
  const auto sets = previous_sets();
  return sets.empty() ? 0 : seq_of(sets.front());
}

// Key first, then certificate, then chain (see cert_set.h for why that order), as one
// write_files_atomic: every temp file is written beside its target before the first rename,
// so a directory that cannot take a file (read-only, immutable, full) fails the set before any
// live file changes. A file that already holds its bytes is not written: after a crash part of
// the set is there already. When a rename fails midway, the files already replaced get their
// previous bytes back, so that the live set is what it was before the call, never a new key
// beside an old certificate; only when that fails too is the mix left (`mixed`, and said).
Result<void> CertSetStore::write_files(const CertSetBytes& set, const CertSetOwnership& own,
                                       bool& mixed) {
  mixed = false;
  struct Part {
    const fs::path* path;
    const std::string* bytes;
    std::optional<mode_t> mode;
    mode_t fallback;
    const char* fault;
    std::optional<std::string> before;  // what the live file held (nullopt: did not exist)
  };
  std::vector<Part> parts{
      {&files_.key, &set.key, own.key_mode, kPrivateMode, "after_key_write", {}},
      {&files_.cert, &set.cert, own.cert_mode, kDefaultCertMode, "after_cert_write", {}}};
  if (files_.chain)
    parts.push_back({&*files_.chain, &set.chain, own.cert_mode, kDefaultCertMode, nullptr, {}});
  std::vector<const Part*> changed;
  std::vector<FileWrite> writes;
  for (auto& part : parts) {
    auto before = read_optional(*part.path);
    if (!before) return before.error();
    part.before = std::move(*before);
    if (part.before && *part.before == *part.bytes) continue;
    changed.push_back(&part);
    writes.push_back(live_write(*part.path, *part.bytes, part.mode, part.fallback, own));
  }
  const auto fault = [&changed](size_t i) {
    if (changed[i]->fault != nullptr) fault_point(changed[i]->fault);
  };
  auto written = writes.empty() ? Result<void>{} : write_files_atomic(writes, {}, fault);
  if (written) {
    fault_point("after_chain_write");
    return {};
  }
  // Which renames happened is read back from the files: those holding their new bytes.
  std::string undo_failed;
  for (auto it = changed.rbegin(); it != changed.rend(); ++it) {
    const Part& part = **it;
    auto now = read_optional(*part.path);
    if (!now || !*now || **now != *part.bytes) continue;  // not replaced
    Result<void> undo = Result<void>{};
    if (part.before) {
      undo =
          write_files_atomic({live_write(*part.path, *part.before, part.mode, part.fallback, own)});
    } else {
      std::error_code ec;
      fs::remove(*part.path, ec);
      if (ec) undo = make_error(part.path->string() + ": " + ec.message(), ErrorKind::io);
    }
    if (!undo) undo_failed += (undo_failed.empty() ? "" : "; ") + undo.error().message;
  }
  mixed = !undo_failed.empty();
  if (mixed)
    return make_error(written.error().message + "; putting the previous files back failed too (" +
                          undo_failed + ")",
                      ErrorKind::io);
  return make_error(written.error().message + "; the previous set is live again", ErrorKind::io);
}

Result<void> CertSetStore::write_live(const CertSetBytes& set, const CertSetOwnership& own) {
  bool mixed = false;
  if (auto r = write_files(set, own, mixed); !r) return r;
  return drop_intent();
}

Result<void> CertSetStore::drop_intent() {
  std::error_code ec;
  fs::remove(dir_ / "intent", ec);
  if (ec)
    return make_error("cannot remove " + (dir_ / "intent").string() + ": " + ec.message(),
                      ErrorKind::io);
  return fsync_directory(dir_);
}

}  // namespace certwatch::pki
