// Home Assistant MQTT discovery (https://www.home-assistant.io/integrations/sensor.mqtt/):
// each watched leaf certificate becomes a sensor whose state is the days left, with the
// worst finding's severity, subject CN, serial and notAfter as attributes. The discovery
// config is retained under homeassistant/sensor/<node>/<key>/config and the state under
// <prefix>/certs/<key>; both are cleared (empty retained) when the certificate goes, which
// is how Home Assistant removes a discovered entity.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "exporters/mqtt/topics.h"

namespace certwatch::exporters::mqtt {

// A watched leaf as its sensor shows it.
struct SensorView {
  std::string key;  // sensor_key(target)
  std::string source;
  std::string target;
  std::string subject_cn;
  std::string serial;
  int64_t not_after = 0;
  std::string severity;  // the worst active finding's, "ok" when none
  bool operator==(const SensorView&) const = default;
};

// The discovery config. `node_id`: [a-zA-Z0-9_-] (node_id_for() makes one).
std::string discovery_config(const SensorView& s, const Topics& topics, std::string_view node_id,
                             std::string_view host, std::string_view version);
// The state message: JSON with days_left (one decimal) and the attributes.
std::string sensor_state(const SensorView& s, std::string_view host, int64_t now);
// Time left in tenths of a day, rounded down, as JSON number text.
std::string days_left(int64_t seconds);
// "certwatch_<host>" with every other character than [a-zA-Z0-9_-] as '_'.
std::string node_id_for(std::string_view host);

}  // namespace certwatch::exporters::mqtt
