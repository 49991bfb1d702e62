// The agent's inventory: one entry per target, whatever source saw it (a watched file, an
// endpoint address, a ledger row, a managed certificate), holding the compact judged report
// (pki::Report: strings and numbers, no OpenSSL object) and, beside it, the state only that
// source needs (for a file: stat stamp, content hash, paired key). Each observation replaces
// the target's entry; the findings diff (raised, severity changed, cleared) is computed here,
// once, and offered to every subscriber (metrics, the change log, the MQTT alerts) before the
// old entry goes. The API and the status page read the entries.
// Thread-safety: owned by the io_context thread; not locked.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "agent/inventory/file_stamp.h"
#include "agent/inventory/target.h"
#include "pki/judge/judge.h"

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

// What the file source keeps to tell whether a file changed and what it was judged with.
struct FileState {
  std::string watch;  // the `watch` path this file belongs to (`watch` in the JSON API)
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
};

// What the endpoint source learnt from its last probe of one address of an endpoint (the
// target "host:port [address]"; just "host:port" while the name does not resolve).
struct EndpointState {
  std::string endpoint;             // "host:port" as configured (the `endpoint` label)
  std::string address;              // the IP probed (the `address` label); "" when nothing resolved
  bool success = false;             // connect, handshake and exchange all succeeded
  std::string tls_version, cipher;  // of the last handshake that completed
  double duration_seconds = 0;      // of the last probe
  int64_t probed_at = 0;            // POSIX seconds
  int64_t last_success = 0;         // 0: never
};

// Source-specific state, one alternative per source kind that keeps one; ledger rows and
// managed certificates keep none (std::monostate, the default): file() is non-null only for an
// entry a file source made.
using SourceState = std::variant<std::monostate, FileState, EndpointState>;

struct InventoryEntry {
  // The target's certificates, in file (or served) order. Filled by Inventory::prepare() from
  // report.certs, which is then left empty: read certificates from here.
  std::vector<CertPtr> certs;
  pki::Report report;
  // When a time-dependent finding (expiry thresholds, not-yet-valid) may change: the entry is
  // judged again then even if its source did not change.
  int64_t rejudge_at = std::numeric_limits<int64_t>::max();
  SourceState state;

  const FileState* file() const { return std::get_if<FileState>(&state); }
  FileState* file() { return std::get_if<FileState>(&state); }
  const EndpointState* endpoint() const { return std::get_if<EndpointState>(&state); }
};

enum class ChangeKind { added, changed, unchanged, removed };

struct InventoryChange {
  ChangeKind kind = ChangeKind::unchanged;
  TargetId target;
  std::vector<pki::Finding> raised;   // findings new in this observation
  std::vector<pki::Finding> cleared;  // findings that went away (all of them on removal)
  struct SeverityChange {
    pki::Finding before;
    pki::Finding after;
  };
  std::vector<SeverityChange> changed;  // same id and target, another severity
  bool certs_changed = false;           // the certificate list differs (by fingerprint)
};

// Told of every observation and removal, before the old entry is replaced (old null: a new
// target; fresh null: the target is gone). Runs on the inventory's thread; must not call back
// into the inventory.
using InventoryListener = std::function<void(const InventoryChange&, const InventoryEntry* old,
                                             const InventoryEntry* fresh)>;

class Inventory {
 public:
  // Moves report.certs into interned `certs`, and copies everything else so that what the
  // inventory keeps is allocated by the owning thread (not by a scan-pool thread's arena).
  InventoryEntry prepare(InventoryEntry fresh);
  // Replaces the target's entry, tells the listeners, and returns the difference (prepares
  // the entry if needed).
  InventoryChange observe(const TargetId& target, InventoryEntry entry);
  std::optional<InventoryChange> remove(const TargetId& target);
  void subscribe(InventoryListener listener) { listeners_.push_back(std::move(listener)); }

  // The source-specific state of a target, for its source to update what does not change
  // the exported view (a file's stamp after a read that found the same bytes). Null if unknown.
  SourceState* source_state(const TargetId& target);
  // Judge the target again from its source at `at` (POSIX seconds) at the latest: a source
  // that kept the last stable judgement (a file caught mid-rewrite) asks to look again.
  void recheck_by(const TargetId& target, int64_t at);

  const InventoryEntry* find(const TargetId& target) const;
  const std::map<TargetId, InventoryEntry>& entries() const { return entries_; }
  std::size_t size() const { return entries_.size(); }
  std::size_t size(SourceKind source) const {
    return targets_by_source_[static_cast<size_t>(source)];
  }
  std::size_t certificate_count() const { return certificates_; }
  // Bumped on every change that affects what is exported (metrics, API).
  uint64_t generation() const { return generation_; }

 private:
  CertPtr intern(const pki::CertRecord& record);
  void tell(const InventoryChange& c, const InventoryEntry* old, const InventoryEntry* fresh) const;

  std::map<TargetId, InventoryEntry> entries_;
  // Interned records by a hash of (sha256, index, role); equality is checked on lookup.
  std::unordered_map<uint64_t, std::weak_ptr<const pki::CertRecord>> interned_;
  std::vector<InventoryListener> listeners_;
  std::size_t certificates_ = 0;
  std::array<std::size_t, kSourceKinds> targets_by_source_{};  // by SourceKind
  uint64_t generation_ = 0;
};

// Diff of two prepared entries of the same target (old null: new target; fresh null: gone).
InventoryChange diff_entries(const TargetId& target, const InventoryEntry* old,
                             const InventoryEntry* fresh);

}  // namespace certwatch::agent
