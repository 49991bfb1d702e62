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

#include "agent/inventory/certificates.h"
#include "agent/inventory/entry.h"
#include "agent/inventory/target.h"
#include "pki/judge/judge.h"

namespace certwatch::agent {

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
  // The certificates the old or the new entry holds, and what changed about each: their own
  // findings (pki::scope_of) page from here, once per certificate, not from raised/cleared.
  std::vector<CertificateChange> certificates;
};

// Told of every observation and removal, once the inventory holds the fresh entry (old null: a
// new target; fresh null: the target is gone, and no longer in entries()). Runs on the
// inventory's thread; may read the inventory but must not change it.
using InventoryListener = std::function<void(const InventoryChange&, const InventoryEntry* old,
                                             const InventoryEntry* fresh)>;

class Inventory {
 public:
  Inventory() = default;
  // The certificate index points into entries_' nodes: a copy would point into another map's.
  Inventory(const Inventory&) = delete;
  Inventory& operator=(const Inventory&) = delete;
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
  const Entries& entries() const { return entries_; }
  std::size_t size() const { return entries_.size(); }
  std::size_t size(SourceKind source) const {
    return targets_by_source_[static_cast<size_t>(source)];
  }
  // Certificates held by all entries, counted once per place (the exported series).
  std::size_t certificate_count() const { return certificates_; }
  // The inventory by certificate: every fingerprint with its places and own findings.
  const CertificateIndex& certificates() const { return index_; }
  // Bumped on every change that affects what is exported (metrics, API).
  uint64_t generation() const { return generation_; }

 private:
  CertPtr intern(const pki::CertRecord& record);
  void tell(const InventoryChange& c, const InventoryEntry* old, const InventoryEntry* fresh) const;

  Entries entries_;
  CertificateIndex index_;
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
