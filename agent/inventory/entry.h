// One place's entry in the inventory (a watched file, an endpoint address, a ledger row, a
// managed certificate): the compact judged report and, beside it, the state only that place's
// source needs. agent/inventory/inventory.h keeps them by target; certificates.h indexes their
// certificates by fingerprint.
// Thread-safety: values.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "agent/inventory/file_stamp.h"
#include "pki/judge/report.h"

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

// What the renewal scheduler knows of a managed certificate's renewal when it published the
// entry: the certificate's expiry alert carries it, and a healthy renewal that is not yet due
// keeps the expiry warning from paging (mqtt.quiet_managed_expiry).
struct ManagedState {
  std::string name;        // the `managed:` entry
  int64_t due_at = 0;      // when renewal is due by its window (0: now)
  int64_t next_at = 0;     // the next attempt
  int failures = 0;        // consecutive failed attempts
  std::string last_error;  // of the last failed attempt, "" after a success
  bool healthy(int64_t now) const { return failures == 0 && (due_at == 0 || now < due_at); }
};

// Source-specific state, one alternative per source kind that keeps one; ledger rows keep none
// (std::monostate, the default): file() is non-null only for an entry a file source made.
using SourceState = std::variant<std::monostate, FileState, EndpointState, ManagedState>;

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
  const ManagedState* managed() const { return std::get_if<ManagedState>(&state); }
};

// The certificate a finding names by its index ("<target>#<index>", split_finding_target),
// or null when it names none or an index the entry does not hold. Alerts, metrics and the
// certificate index read a finding's certificate through this one rule.
const pki::CertRecord* named_certificate(const InventoryEntry& e, std::string_view target,
                                         std::string_view finding_target);
// The same rule, giving the certificate's position in `e.certs`.
std::optional<std::size_t> named_position(const InventoryEntry& e, std::string_view target,
                                          std::string_view finding_target);

}  // namespace certwatch::agent
