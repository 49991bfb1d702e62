// From the inventory's changes to the alert book (DESIGN.md: one incident pages once). A
// place's findings (its chain's order, its key, its endpoint, its renewal) are alerts of that
// place, keyed by finding target and id as before. A certificate's own findings
// (pki::scope_of: expiry, weak key, its own lints) are one alert per certificate and id,
// keyed by fingerprint, listing every place that holds it and, for a managed certificate, how
// its renewal stands. Which findings page: severity at least `min_severity`, except a managed
// certificate's expiry warning while its renewal is healthy and not yet due
// (`quiet_managed_expiry`). Also the per-target view Home Assistant's sensors show.
// Thread-safety: the io_context thread (it reads inventory entries).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/inventory/inventory.h"
#include "exporters/mqtt/alert_state.h"
#include "exporters/mqtt/home_assistant.h"

namespace certwatch::agent {

struct AlertPolicy {
  pki::Severity min_severity = pki::Severity::warning;
  bool quiet_managed_expiry = true;
};

// A place's finding: subject CN, serial and notAfter of the certificate the finding names by
// index, else of the target's first certificate.
exporters::mqtt::AlertInfo alert_info(const TargetId& target, const pki::Finding& f,
                                      const InventoryEntry* entry);
// A certificate's own finding.
exporters::mqtt::AlertInfo certificate_alert_info(const Certificate& cert, const pki::Finding& f);

// Whether the certificate's own finding `f` pages at `now`.
bool pages(const AlertPolicy& policy, const Certificate& cert, const pki::Finding& f, int64_t now);

// Feeds one change into `book`; transitions are appended to `out`.
void feed_alerts(exporters::mqtt::AlertBook& book, const AlertPolicy& policy,
                 const InventoryChange& change, const InventoryEntry* fresh, int64_t now,
                 std::vector<exporters::mqtt::AlertTransition>& out);
// What changed about one certificate (also how a new publisher takes the inventory's state).
void feed_certificate(exporters::mqtt::AlertBook& book, const AlertPolicy& policy,
                      const CertificateChange& change, int64_t now,
                      std::vector<exporters::mqtt::AlertTransition>& out);

// The target's leaf (the first certificate whose role is CertRole::leaf), or nothing.
std::optional<exporters::mqtt::SensorView> sensor_view(const TargetId& target,
                                                       const InventoryEntry* entry);

}  // namespace certwatch::agent
