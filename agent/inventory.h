// The agent's inventory: one entry per target (a watched file), holding the compact judged
// report (pki::Report: strings and numbers, no OpenSSL object) and what is needed to tell
// whether the file changed (stat stamp, content hash). Each observation replaces the target's
// entry; the returned change says what differs, which drives logs and the metrics cache.
// Thread-safety: owned by the io_context thread; not locked.
#pragma once

#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <string>
#include <vector>

#include "agent/stable_read.h"
#include "pki/judge.h"

namespace certwatch::agent {

// Certificate records are interned: identical records (same fingerprint, position and role)
// in many files, such as the intermediates of every chain file, are stored once and shared.
using CertPtr = std::shared_ptr<const pki::CertRecord>;

// Identity of the key a certificate file was judged with (paired by stem, or the entry's
// `key`): a rescan that sees the same certificate bytes re-judges anyway when this differs.
struct KeyIdentity {
  std::string path;
  FileStamp stamp;          // dev, inode, size, mtime, ctime
  std::string spki_sha256;  // content identity that matters for key.mismatch
  bool encrypted = false;
  bool operator==(const KeyIdentity&) const = default;
};

// Both absent, or both present and equal.
inline bool same_key(const std::shared_ptr<const KeyIdentity>& a,
                     const std::shared_ptr<const KeyIdentity>& b) {
  return a == b || (a && b && *a == *b);
}

struct InventoryEntry {
  std::string source;  // the `watch` path this target belongs to (metrics label)
  // The target's certificates, in file order. Filled by Inventory::prepare() from
  // report.certs, which is then left empty: read certificates from here.
  std::vector<CertPtr> certs;
  FileStamp stamp;
  ContentHash hash{};
  bool read_ok = false;  // false: the report holds input.unreadable; always re-read
  // The key compared with this file's leaf, if any (not for a file carrying its own key).
  // A pointer, not an optional: most files have no paired key, and an inline identity would
  // cost every entry its size (bench/agent_scale counts bytes per certificate).
  std::shared_ptr<const KeyIdentity> key;
  // The file holds private keys and no certificate: its change re-judges the certificate
  // files it pairs with.
  bool key_file = false;
  pki::Report report;
  // When a time-dependent finding (expiry thresholds, not-yet-valid) may change: the entry is
  // re-judged from its file then even if the file did not change.
  int64_t rejudge_at = std::numeric_limits<int64_t>::max();
};

enum class ChangeKind { added, changed, unchanged, removed };

struct InventoryChange {
  ChangeKind kind = ChangeKind::unchanged;
  std::string target;
  std::vector<pki::Finding> raised;   // findings new in this observation
  std::vector<pki::Finding> cleared;  // findings that went away (all of them on removal)
  bool certs_changed = false;         // the certificate list differs (by fingerprint)
};

class Inventory {
 public:
  // Moves report.certs into interned `certs`, and copies everything else so that what the
  // inventory keeps is allocated by the owning thread (not by a scan-pool thread's arena).
  InventoryEntry prepare(InventoryEntry fresh);
  // Replaces the target's entry and reports the difference (prepares it if needed).
  InventoryChange observe(const std::string& target, InventoryEntry entry);
  std::optional<InventoryChange> remove(const std::string& target);
  // Removes `path` itself and every target below it (a directory that vanished).
  std::vector<InventoryChange> remove_under(const std::filesystem::path& path);

  // Fast path of a rescan: the file was not touched since it was judged.
  bool same_stamp(const std::string& target, const FileStamp& stamp) const;
  // Same bytes as last time: only the stamp needs updating, nothing is re-judged.
  bool same_content(const std::string& target, const ContentHash& hash) const;
  void update_stamp(const std::string& target, const FileStamp& stamp);
  // Judge the target again from its file at `at` (POSIX seconds) at the latest.
  void recheck_by(const std::string& target, int64_t at);

  const InventoryEntry* find(const std::string& target) const;
  const std::map<std::string, InventoryEntry>& entries() const { return entries_; }
  std::size_t size() const { return entries_.size(); }
  std::size_t certificate_count() const { return certificates_; }
  // Bumped on every change that affects what is exported (metrics, API).
  uint64_t generation() const { return generation_; }

 private:
  CertPtr intern(const pki::CertRecord& record);

  std::map<std::string, InventoryEntry> entries_;
  // Interned records by a hash of (sha256, index, role); equality is checked on lookup.
  std::unordered_map<uint64_t, std::weak_ptr<const pki::CertRecord>> interned_;
  std::size_t certificates_ = 0;
  uint64_t generation_ = 0;
};

// Diff of two prepared entries of the same target (old null: new target; fresh null: gone).
InventoryChange diff_entries(const std::string& target, const InventoryEntry* old,
                             const InventoryEntry* fresh);

}  // namespace certwatch::agent
