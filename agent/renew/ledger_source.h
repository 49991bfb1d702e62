// The ledger source (issue #11): with `issuers:` configured, every valid leaf certificate the
// issuer gave out (device client certificates that live on meters and gateways, not on this
// host) is an inventory target with source "ledger" and id "<issuer>/<name>/<serial>", so its
// expiry is exported and alerted on from the host that issued it. Revoked and superseded
// certificates leave the inventory. The ledger holds no certificate bytes, so the record is
// built from its row and judged for expiry only by pki's rule (pki::judge_record_expiry:
// cert.expired, cert.expires_soon with the lifetime-relative thresholds).
// Read on apply (start, SIGHUP) and every `refresh` on the agent's Clock.
// Thread-safety: io_context thread only.
#pragma once

#include <chrono>
#include <memory>
#include <set>
#include <string>

#include "agent/clock/clock.h"
#include "agent/inventory/inventory.h"
#include "config/config.h"
#include "pki/issue/ledger.h"

namespace certwatch::agent {

// The inventory entry of one ledger row at `now` (exposed for tests).
InventoryEntry ledger_entry(const std::string& target, const pki::LedgerEntry& row,
                            const config::Config& cfg, int64_t now);

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
