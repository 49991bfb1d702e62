#include "exporters/mqtt/home_assistant.h"

#include "base/duration.h"
#include "base/json.h"
#include "exporters/mqtt/payloads.h"

namespace certwatch::exporters::mqtt {

// Tenths of a day, rounded down, as JSON text ("19.9", "-0.5"): a double would print as
// 19.899999999999999.
std::string days_left(int64_t seconds) {
  const int64_t tenths = seconds >= 0 ? seconds / 8640 : -((-seconds + 8639) / 8640);
  const int64_t whole = (tenths < 0 ? -tenths : tenths);
  return std::string(tenths < 0 ? "-" : "") + std::to_string(whole / 10) + "." +
         std::to_string(whole % 10);
}

std::string node_id_for(std::string_view host) {
  std::string out = "certwatch_";
  for (char c : host)
    out += (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                   c == '-'
               ? c
               : '_';
  return out;
}

std::string discovery_config(const SensorView& s, const Topics& topics, std::string_view node_id,
                             std::string_view host, std::string_view version) {
  std::string object;
  for (char c : s.key) object += c == '.' ? '_' : c;
  const std::string state = topics.sensor_state(s.key);
  certwatch::JsonWriter w;
  w.begin_object();
  w.key("name").value((s.subject_cn.empty() ? s.target : s.subject_cn) + " certificate");
  w.key("unique_id").value(std::string(node_id) + "_" + object);
  w.key("object_id").value(std::string(node_id) + "_" + object);
  w.key("state_topic").value(state);
  w.key("value_template").value("{{ value_json.days_left }}");
  w.key("json_attributes_topic").value(state);
  w.key("unit_of_measurement").value("d");
  w.key("device_class").value("duration");
  w.key("state_class").value("measurement");
  w.key("icon").value("mdi:certificate");
  w.key("availability_topic").value(topics.status());
  w.key("payload_available").value("online");
  w.key("payload_not_available").value("offline");
  w.key("device").begin_object();
  w.key("identifiers").begin_array().value(node_id).end_array();
  w.key("name").value("certwatch " + std::string(host));
  w.key("manufacturer").value("certwatch");
  w.key("model").value("certwatch agent");
  w.key("sw_version").value(version);
  w.end_object();
  w.end_object();
  return w.take();
}

std::string sensor_state(const SensorView& s, std::string_view host, int64_t now) {
  certwatch::JsonWriter w;
  w.begin_object();
  w.key("schema").value(kSchemaVersion);
  w.key("host").value(host);
  w.key("source").value(s.source);
  w.key("target").value(s.target);
  w.key("subject_cn").value(s.subject_cn);
  w.key("serial").value(s.serial);
  w.key("not_after").value(certwatch::format_iso8601(s.not_after));
  w.key("seconds_left").value(s.not_after - now);
  w.key("days_left").raw(days_left(s.not_after - now));
  w.key("severity").value(s.severity);
  w.end_object();
  return w.take();
}

}  // namespace certwatch::exporters::mqtt
