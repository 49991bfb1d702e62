// The MQTT publisher's metrics, in the agent's registry beside the certificate series
// (names: certwatch_mqtt_*, listed here because only the publisher writes them; DESIGN.md:
// "probe, renewal, MQTT and self metrics"). `kind` is one of status, alert, event, discovery.
// Thread-safety: the registry's (the agent's io_context thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "exporters/prometheus/metrics.h"

namespace certwatch::exporters::mqtt {

inline constexpr std::string_view kKindLabels[] = {"kind"};
inline constexpr std::string_view kErrorLabels[] = {"error"};
inline constexpr std::string_view kReasonLabels[] = {"reason"};

inline constexpr MetricDef kMqttConnected{
    "certwatch_mqtt_connected",
    MetricType::gauge,
    "1 while the MQTT publisher is connected to the broker, else 0.",
    {}};
inline constexpr MetricDef kMqttPublished{
    "certwatch_mqtt_messages_published_total", MetricType::counter,
    "MQTT messages the broker acknowledged, by topic kind (status, alert, event, discovery).",
    kKindLabels};
inline constexpr MetricDef kMqttBuffered{
    "certwatch_mqtt_messages_buffered",
    MetricType::gauge,
    "MQTT messages handed to the client and not yet acknowledged (in flight or buffered while "
    "disconnected).",
    {}};
inline constexpr MetricDef kMqttDropped{
    "certwatch_mqtt_messages_dropped_total",
    MetricType::counter,
    "MQTT events dropped because the offline buffer was full (the oldest go; alert topics are "
    "reconciled instead of buffered).",
    {}};
inline constexpr MetricDef kMqttDenied{
    "certwatch_mqtt_messages_denied_total", MetricType::counter,
    "MQTT messages the broker refused (MQTT 5 reason code 0x80 or above, e.g. not_authorized: "
    "an ACL), by reason; not counted as published. Always 0 with protocol 3.1.1, which cannot "
    "tell.",
    kReasonLabels};
inline constexpr MetricDef kMqttConnectFailures{
    "certwatch_mqtt_connect_failures_total",
    MetricType::counter,
    "Failed MQTT connection attempts and lost connections.",
    {}};
inline constexpr MetricDef kMqttLastError{
    "certwatch_mqtt_last_connect_error_info", MetricType::gauge,
    "Why the last MQTT connection attempt failed or the connection was lost; always 1, absent "
    "while connected.",
    kErrorLabels};

inline constexpr MetricDef kMqttAll[] = {kMqttConnected, kMqttPublished, kMqttBuffered,
                                         kMqttDropped,   kMqttDenied,    kMqttConnectFailures,
                                         kMqttLastError};

// certwatch_mqtt_connected: 1 while up.
enum class BrokerLink { down, up };

// The mqtt: section is gone (a reload): certwatch_mqtt_connected and the last error go too, so
// that nothing (CertwatchMqttDisconnected) takes the agent for one that lost its broker. The
// counters stay: they only ever go up.
void forget_connection(Registry& registry);

class MqttMetrics {
 public:
  // `touched` is called after every change (the agent rebuilds its compressed exposition).
  MqttMetrics(Registry& registry, std::function<void()> touched);

  void set_connected(BrokerLink link);
  void connect_failed(std::string_view why);
  void published(std::string_view kind);
  void set_buffered(std::size_t n);
  void dropped(std::size_t n = 1);
  // `reason`: a label of publish_refusal() (reason_codes.h).
  void denied(std::string_view reason);

 private:
  std::function<void()> touched_;
  GaugeFamily* connected_;
  CounterFamily* published_;
  GaugeFamily* buffered_;
  CounterFamily* dropped_;
  CounterFamily* denied_;
  CounterFamily* failures_;
  GaugeFamily* last_error_;
};

}  // namespace certwatch::exporters::mqtt
