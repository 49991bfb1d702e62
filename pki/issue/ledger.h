// The issued-certificate ledger (D/ledger.sqlite): one row per certificate the issuer signed,
// CAs included. Safe with concurrent certwatch processes on the same directory: WAL journal,
// a busy timeout, and every change in one IMMEDIATE transaction (writers queue, readers never
// see a half-written row). Thread-safety: one Ledger per thread (one sqlite3 connection each).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

struct sqlite3;

namespace certwatch::pki {

struct LedgerEntry {
  std::string serial;             // upper-case hex, as Certificate::serial_hex
  std::string ca;                 // issuing CA's name ("root-ca" for the root itself)
  std::string name;               // --name given at issuance (file stem)
  std::string subject;            // RFC 2253
  std::vector<std::string> sans;  // "DNS:x", "IP:y"
  int64_t not_before = 0;
  int64_t not_after = 0;
  std::string sha256;    // lower-case hex of the DER
  std::string key_type;  // "ec-p256", ...
  std::string profile;   // root, intermediate, server, client
  // valid | revoked | superseded (replaced by a forced re-issue of the same name and CA; still
  // a valid certificate until it expires, and revocable by serial)
  std::string status = "valid";
  int64_t issued_at = 0;
  int64_t revoked_at = 0;         // 0 unless revoked
  std::string revocation_reason;  // RFC 5280 reason name, "" unless revoked
  std::string superseded_by;      // serial of the replacing certificate, "" unless superseded
  std::string key_uri;  // a CA whose key is in a token: its PKCS#11 URI (never a PIN), else ""
};

class Ledger {
 public:
  // Opens (and creates or migrates) the ledger at `path`; the file is created 0600.
  static Result<Ledger> open(const std::filesystem::path& path);
  ~Ledger();
  Ledger(Ledger&&) noexcept;
  Ledger& operator=(Ledger&&) noexcept;

  // Runs `fn` inside BEGIN IMMEDIATE ... COMMIT; rolls back if it fails. Other processes
  // wait on the busy timeout meanwhile, so keep `fn` short.
  Result<void> in_transaction(const std::function<Result<void>()>& fn);

  Result<void> insert(const LedgerEntry& entry);
  // Entries, newest first; filtered by CA when `ca` is given.
  Result<std::vector<LedgerEntry>> list(const std::optional<std::string>& ca = std::nullopt);
  // By serial (case-insensitive hex, leading zeros ignored), optionally within one CA.
  Result<std::vector<LedgerEntry>> find_serial(const std::string& serial,
                                               const std::optional<std::string>& ca = std::nullopt);
  // Valid entries issued under `name`.
  Result<std::vector<LedgerEntry>> find_name(const std::string& name,
                                             const std::optional<std::string>& ca = std::nullopt);
  // Marks the valid certificates of `ca` issued under `name`, other than `by_serial`,
  // superseded by it; returns how many. Call inside in_transaction, with the new entry's insert.
  Result<int> supersede(const std::string& ca, const std::string& name,
                        const std::string& by_serial);
  // Marks one certificate (valid or superseded) revoked; an error if it is unknown or already
  // revoked.
  Result<void> revoke(const std::string& ca, const std::string& serial, const std::string& reason,
                      int64_t when);
  // An issuance that never went live (its deploy was rolled back): the valid certificate
  // `serial` is revoked as superseded, and the certificates it had superseded are valid (current)
  // again; returns how many. One transaction.
  Result<int> withdraw(const std::string& ca, const std::string& serial, int64_t when);
  // The certificate `live_serial` is live, yet later issuances of its name that never went live
  // superseded it (a crash between issuance and deploy, or between a rollback and its
  // withdraw): each of them, from the newest back, is withdrawn until it is current again.
  // Nothing changes when it is current already or unknown here. Returns how many were
  // withdrawn; an error if the chain of supersessions ends in a revoked certificate.
  Result<int> reinstate(const std::string& ca, const std::string& live_serial, int64_t when);
  // Revoked entries of one CA (for its CRL).
  Result<std::vector<LedgerEntry>> revoked(const std::string& ca);
  // Increments and returns the CA's CRL number (starts at 1).
  Result<int64_t> next_crl_number(const std::string& ca);

 private:
  explicit Ledger(sqlite3* db) : db_(db) {}
  Result<void> exec(const char* sql);
  sqlite3* db_ = nullptr;
};

// Canonical form of a serial for lookups: upper-case hex without leading zeros or ':'.
std::string normalize_serial(const std::string& serial);

}  // namespace certwatch::pki
