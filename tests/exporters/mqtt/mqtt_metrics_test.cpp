// The MQTT publisher's metrics: refused publishes counted by reason apart from published ones,
// and the connection's gauges gone with the mqtt: section.
#include "exporters/mqtt/mqtt_metrics.h"

#include <catch2/catch.hpp>
#include <string>

namespace mq = certwatch::exporters::mqtt;

namespace {

bool mqtt_metrics_has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("MQTT metrics: a denied publish is counted by reason, not as published",
          "[exporters][mqtt]") {
  certwatch::exporters::Registry registry;
  int touched = 0;
  mq::MqttMetrics metrics(registry, [&] { ++touched; });
  CHECK(mqtt_metrics_has(registry.render(),
                         "certwatch_mqtt_messages_denied_total{reason=\"not_authorized\"} 0"));
  metrics.denied("not_authorized");
  metrics.denied("not_authorized");
  metrics.denied("quota_exceeded");
  const std::string text = registry.render();
  CHECK(
      mqtt_metrics_has(text, "certwatch_mqtt_messages_denied_total{reason=\"not_authorized\"} 2"));
  CHECK(
      mqtt_metrics_has(text, "certwatch_mqtt_messages_denied_total{reason=\"quota_exceeded\"} 1"));
  CHECK(mqtt_metrics_has(text, "certwatch_mqtt_messages_published_total{kind=\"alert\"} 0"));
  CHECK(touched >= 4);
}

TEST_CASE("MQTT metrics: without an mqtt: section there is no connection to be down",
          "[exporters][mqtt]") {
  certwatch::exporters::Registry registry;
  mq::MqttMetrics metrics(registry, [] {});
  metrics.connect_failed("cannot connect to 127.0.0.1:1883: Connection refused");
  CHECK(mqtt_metrics_has(registry.render(), "certwatch_mqtt_connected 0"));
  mq::forget_connection(registry);
  const std::string text = registry.render();
  CHECK(text.find("certwatch_mqtt_connected 0") == std::string::npos);
  CHECK(text.find("certwatch_mqtt_last_connect_error_info{") == std::string::npos);
  CHECK(mqtt_metrics_has(text, "certwatch_mqtt_connect_failures_total 1"));  // counters stay
}
