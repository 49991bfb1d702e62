// The inventory seen by certificate rather than by place (DESIGN.md, "Data flow"): a
// certificate is its SHA-256 fingerprint and lives in every place whose entry holds it (a cert
// file and a chain file, the endpoint that serves it, the managed entry that deploys it, the
// ledger row that recorded it). Its facts (subject, issuer, serial, validity) come from a place
// that read its bytes, never from a ledger row while such a place exists; its own findings
// (pki::scope_of: expiry, weak key or signature, its own lints) are raised once, at the worst
// severity any place judged, and their changes are what alerts page on. Findings about a place
// stay with the place's entry.
// Thread-safety: owned by the inventory (io_context thread); not locked.
#pragma once

#include <utility>

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "agent/inventory/entry.h"
#include "agent/inventory/target.h"
#include "pki/judge/finding.h"

namespace certwatch::agent {

using Entries = std::map<TargetId, InventoryEntry>;

// One place of a certificate: the entry of `node->first` holds it at certs[position]. The node
// is the inventory's own (map nodes do not move), valid while the entry lives.
struct Place {
  const Entries::value_type* node = nullptr;
  uint32_t position = 0;
  const TargetId& target() const { return node->first; }
  const InventoryEntry& entry() const { return node->second; }
  const pki::CertRecord& record() const { return *node->second.certs[position]; }
  // The finding target that names this certificate at this place: "<target>#<index>".
  std::string finding_target() const;
  bool operator==(const Place&) const = default;
};

struct FindingChange {
  pki::Finding before;
  pki::Finding after;
};

// How many places judged the certificate's own finding `id` at `severity`, and the finding as
// one of them said it (the representative: its message and finding target).
struct FindingTally {
  pki::Finding finding;
  const Entries::value_type* from = nullptr;  // the representative's place; null while unknown
  uint32_t count = 0;
};

// Updates cost O(1) in the places of a certificate (a CA in 100,000 chain files is one
// certificate with 100,000 places): places are kept in the order they came, the own findings
// as tallies, and the facts and the managed place are re-picked only when theirs goes.
struct Certificate {
  CertPtr record;             // the facts, from a place that is not a ledger row if any
  std::vector<Place> places;  // in the order they came; sorted_places() for display
  std::vector<FindingTally> tallies;
  const Entries::value_type* managed = nullptr;  // a managed place's node, if any
  bool record_from_ledger = false;

  const std::string& sha256() const { return record->sha256; }  // lower-case hex
  // The certificate's own findings, one per id: the worst severity a place judged, with the
  // message and finding target of a place that judged it so.
  std::vector<pki::Finding> findings() const;
  // The managed entry's renewal, when the certificate is managed.
  const ManagedState* managed_state() const {
    return managed != nullptr ? managed->second.managed() : nullptr;
  }
  // The places ordered by target, then position (O(n log n): for display, not per update).
  std::vector<const Place*> sorted_places() const;
  // The first place in that order (O(n)).
  const Place& first_place() const;
};

// What one observation changed about one certificate.
struct CertificateChange {
  std::string sha256;
  const Certificate* now = nullptr;  // null: no place holds it any more
  CertPtr record;                    // its facts (the last known, once it is gone)
  std::vector<pki::Finding> raised;
  std::vector<pki::Finding> cleared;
  std::vector<FindingChange> changed;  // same id, another severity
  bool places_changed = false;
};

using Fingerprint = std::array<unsigned char, 32>;
// 64 hex digits (either case) to the 32 bytes; nothing for anything else.
std::optional<Fingerprint> parse_fingerprint(std::string_view hex);
struct FingerprintHash {
  std::size_t operator()(const Fingerprint& f) const noexcept;
};

class CertificateIndex {
 public:
  // The entry of `node` changed: `old` is what it held before (null: a new target), `fresh`
  // what it holds now (null: the target is gone; `node` is then still valid for the call but
  // leaves the inventory after it). Appends one change per certificate either held.
  void update(const Entries::value_type* node, const InventoryEntry* old,
              const InventoryEntry* fresh, std::vector<CertificateChange>& out);

  const Certificate* find(std::string_view sha256) const;
  std::size_t size() const { return certs_.size(); }
  std::size_t place_count() const { return places_; }
  // Calls fn(const Certificate&) for every certificate, in no particular order.
  template <class Fn>
  void for_each(Fn&& fn) const {
    for (const auto& [fp, c] : certs_) fn(c);
  }
  // Every certificate, ordered by its first place (as the API and the status page list them).
  std::vector<const Certificate*> by_first_place() const;

 private:
  std::unordered_map<Fingerprint, Certificate, FingerprintHash> certs_;
  std::size_t places_ = 0;
};

}  // namespace certwatch::agent
