// From the inventory's findings diff to the alert book: which findings are alerts (severity at
// least `min_severity`), and what an alert says about the certificate it concerns (subject CN,
// serial, notAfter of the certificate the finding names by index, else of the target's first
// certificate). Also the per-target view Home Assistant's sensors show.
// Thread-safety: the io_context thread (it reads inventory entries).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/inventory/inventory.h"
#include "exporters/mqtt/alert_state.h"
#include "exporters/mqtt/home_assistant.h"

namespace certwatch::agent {

exporters::mqtt::AlertInfo alert_info(const TargetId& target, const pki::Finding& f,
                                      const InventoryEntry* entry);

// Feeds one change into `book`; transitions are appended to `out`.
void feed_alerts(exporters::mqtt::AlertBook& book, pki::Severity min_severity,
                 const InventoryChange& change, const InventoryEntry* fresh, int64_t now,
                 std::vector<exporters::mqtt::AlertTransition>& out);

// The target's leaf (the first certificate whose role is CertRole::leaf), or nothing.
std::optional<exporters::mqtt::SensorView> sensor_view(const TargetId& target,
                                                       const InventoryEntry* entry);

}  // namespace certwatch::agent
