// The ledger source (issue #11): with `issuers:` configured, every valid leaf certificate the
// issuer gave out (device client certificates that live on meters and gateways, not on this
// host) is an inventory target with source "ledger" and id "<ca>/<name>/<serial>", named after
// the CA that signed it, so its expiry is exported and alerted on from the host that issued it.
// Revoked and superseded certificates leave the inventory, and so do the rows of a `managed:`
// entry: its current certificate is the managed place, and its older valid rows are replaced
// certificates nothing uses. The ledger holds no certificate bytes, so the record is built from
// the row and from the issuing CA's certificate (agent/renew/ca_facts.h), in the words pki uses
// for a parsed certificate, and judged for expiry only by pki's rule (pki::judge_record_expiry:
// cert.expired, cert.expires_soon with the lifetime-relative thresholds).
// Read on apply (start, SIGHUP) and every `refresh` on the agent's Clock.
// Thread-safety: io_context thread only.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "agent/clock/clock.h"
#include "agent/inventory/inventory.h"
#include "agent/renew/ca_facts.h"
#include "config/config.h"
#include "pki/issue/ledger.h"

namespace certwatch::agent {

// The target id of `row`, read from `issuer`'s ledger: "<row.ca>/<row.name>/<serial>" (for an
// ACME issuer, whose rows name the directory URL as their CA: "<issuer>/<row.name>/<serial>").
std::string ledger_target(const config::IssuerEntry& issuer, const pki::LedgerEntry& row);

// True if `row` (read from `issuer`'s ledger) was issued for a `managed:` entry: same name, and
// that entry's issuer signs from the same directory and CA (the same ACME entry).
bool managed_row(const config::Config& cfg, const config::IssuerEntry& issuer,
                 const pki::LedgerEntry& row);

// The inventory entry of one ledger row at `now`; `ca` is the issuing CA's facts, nullopt when
// they are unknown (the record then has no issuer, never a guess). Exposed for tests.
InventoryEntry ledger_entry(const std::string& target, const pki::LedgerEntry& row,
                            const std::optional<CaFacts>& ca, const config::Config& cfg,
                            int64_t now);

class LedgerSource {
 public:
  LedgerSource(Clock& clock, Inventory& inventory,
               std::chrono::seconds refresh = std::chrono::seconds(60));
  void apply(const config::Config& cfg);
  void refresh();
  void stop();
  std::size_t target_count() const { return targets_.size(); }

 private:
  void arm();

  Clock& clock_;
  Inventory& inventory_;
  std::chrono::seconds refresh_;
  std::unique_ptr<ClockTimer> timer_;
  config::Config config_;
  std::set<std::string> targets_;
  bool stopped_ = false;
};

}  // namespace certwatch::agent
