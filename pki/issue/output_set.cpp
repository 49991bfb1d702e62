// The issuer's output transaction: files checked absent, written as one step
// (pki/deploy/atomic_file.h) and recorded in the ledger in the same transaction.
#include <openssl/crypto.h>

#include "pki/deploy/atomic_file.h"
#include "pki/issue/issuer_internal.h"

namespace certwatch::pki {

namespace fs = std::filesystem;

void OutputSet::add(fs::path path, std::string bytes, mode_t mode) {
  files_.push_back({std::move(path), std::move(bytes), mode});
}

Result<void> OutputSet::check_absent(bool force) const {
  if (force) return {};
  for (const auto& f : files_) {
    std::error_code ec;
    if (fs::exists(f.path, ec)) return make_error(f.path.string() + " exists", ErrorKind::exists);
  }
  return {};
}

Result<std::vector<fs::path>> OutputSet::write(bool force) {
  std::vector<FileWrite> writes;
  std::vector<fs::path> paths;
  for (const auto& f : files_) {
    if (auto dir = f.path.parent_path(); !dir.empty())
      if (auto r = make_directories(dir, kDirMode); !r) return r.error();
    writes.push_back({f.path, f.bytes, f.mode});
    paths.push_back(f.path);
  }
  // One step: all temp files fsynced, renamed in order (key first), each directory fsynced once.
  if (auto r = write_files_atomic(writes, {.replace = force}); !r) return r.error();
  return paths;
}

OutputSet::~OutputSet() {
  for (auto& f : files_)
    if (!f.bytes.empty()) OPENSSL_cleanse(f.bytes.data(), f.bytes.size());
}

LedgerEntry entry_for(const Certificate& cert, const std::string& ca, const std::string& name,
                      const std::string& key_type, Profile profile, int64_t now) {
  LedgerEntry e;
  e.serial = cert.serial_hex();
  e.ca = ca;
  e.name = name;
  e.subject = cert.subject();
  for (const auto& s : cert.sans()) e.sans.push_back(to_string(s));
  const auto v = cert.validity();
  e.not_before = v.not_before;
  e.not_after = v.not_after;
  e.sha256 = cert.sha256_hex();
  e.key_type = key_type;
  e.profile = std::string(to_string(profile));
  e.issued_at = now;
  return e;
}

Result<void> record_and_write(Ledger& ledger, const LedgerEntry& entry, OutputSet& files,
                              bool force, Outcome& out) {
  return ledger.in_transaction([&]() -> Result<void> {
    if (auto r = ledger.insert(entry); !r) return r;
    if (force) {
      auto n = ledger.supersede(entry.ca, entry.name, entry.serial);
      if (!n) return n.error();
      if (*n > 0)
        out.warnings.push_back(std::to_string(*n) + " earlier certificate(s) named '" + entry.name +
                               "' by " + entry.ca +
                               " marked superseded in the ledger (still valid until they expire; " +
                               "revoke them by serial if their key is at risk)");
    }
    auto w = files.write(force);
    if (!w) return w.error();
    out.written = std::move(*w);
    return {};
  });
}

}  // namespace certwatch::pki
