// Topic names under the configured prefix (../../shared/DESIGN.md, "MQTT") and the stable key
// of an alert. A key is one topic level: it never holds '/', '+', '#' or a NUL, whatever the
// file path or finding id, and it stays the same for the same (finding target, finding id) so
// that a retained alert is replaced, and later cleared, at the same topic across restarts.
// Thread-safety: pure functions and plain values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace certwatch::exporters::mqtt {

// "<tail of the target>.<finding id>.<16 hex digits>": the readable part is for people
// browsing the broker (at most 48 characters of the target's last path component, anything
// outside [A-Za-z0-9._-] replaced by '_'); the hash of the full target and id makes it unique.
std::string alert_key(std::string_view finding_target, std::string_view finding_id);

// The key of an alert about a certificate's own finding, the same whichever places hold it and
// across restarts: "<subject CN>.<finding id>.<16 hex digits>" (the CN made plain and cut as a
// target's tail is; the first 16 digits of the fingerprint when the CN is empty); the hash is
// of the fingerprint and the id.
std::string certificate_alert_key(std::string_view subject_cn, std::string_view sha256,
                                  std::string_view finding_id);

// The key of a Home Assistant sensor: one per watched leaf certificate (target, index).
std::string sensor_key(std::string_view finding_target);

// 64-bit FNV-1a: stable across builds and hosts (std::hash is not), for keys only.
uint64_t stable_hash(std::string_view text);

// True when `s` is usable as one topic level of our own making: non-empty, no '/', '+', '#',
// NUL or control characters.
bool safe_topic_level(std::string_view s);

struct Topics {
  std::string prefix;  // no trailing '/', no wildcard (the config loader checks)
  std::string status() const { return prefix + "/status"; }
  std::string events() const { return prefix + "/events"; }
  std::string alert(std::string_view key) const { return prefix + "/alerts/" + std::string(key); }
  // Home Assistant: the sensor's state (JSON) and its discovery config topic.
  std::string sensor_state(std::string_view key) const {
    return prefix + "/certs/" + std::string(key);
  }
  std::string discovery(std::string_view node_id, std::string_view key,
                        std::string_view discovery_prefix = "homeassistant") const;
};

}  // namespace certwatch::exporters::mqtt
