// The JSON payloads of the MQTT topics (documented with one example each in README.md). Every
// payload carries `schema` (bumped only when a field changes meaning or goes away; new fields
// may appear at any time) so that consumers can tell what they read.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "exporters/mqtt/alert_state.h"

namespace certwatch::exporters::mqtt {

inline constexpr int kSchemaVersion = 1;

// The retained payload of alerts/<key> while the alert is active.
std::string alert_payload(const AlertInfo& info, std::string_view host, int64_t since, int64_t now);

// One message on `events`: the transition, with the alert's fields.
std::string event_payload(const AlertTransition& t, std::string_view host, int64_t now);

// What one renewal transaction did (agent/renew), for `events`.
struct RenewalEvent {
  std::string name;  // the managed certificate
  bool ok = false;
  bool verified = false;  // a handshake showed the new leaf served
  bool rolled_back = false;
  std::string serial;     // of the new leaf when ok
  int64_t not_after = 0;  // of the new leaf when ok
  std::string error;      // why not (never key material)
  double seconds = 0;     // wall time of the transaction
};

// One message on `events`: "renewed" or "renewal_failed", with the managed certificate's
// inventory target (source "ledger", target "managed/<name>").
std::string renewal_event_payload(const RenewalEvent& e, std::string_view host, int64_t now);

}  // namespace certwatch::exporters::mqtt
