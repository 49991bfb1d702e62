#include "agent/alerts/outgoing.h"

#include <utility>

namespace certwatch::agent {
namespace mq = exporters::mqtt;

std::string_view to_string(MessageKind k) {
  switch (k) {
    case MessageKind::status:
      return "status";
    case MessageKind::alert:
      return "alert";
    case MessageKind::event:
      return "event";
    case MessageKind::discovery:
      return "discovery";
  }
  return "event";
}

namespace outgoing {

Outgoing alert(const mq::Topics& t, const std::string& key, std::string payload) {
  return {.topic = t.alert(key),
          .payload = std::move(payload),
          .retain = mq::Retain::yes,
          .kind = MessageKind::alert};
}

Outgoing alert_clear(const mq::Topics& t, const std::string& key) {
  return {.topic = t.alert(key),
          .payload = "",
          .retain = mq::Retain::yes,
          .kind = MessageKind::alert,
          .acknowledges = Acknowledges::alert_clear,
          .key = key};
}

Outgoing alert_retire(const mq::Topics& t, const std::string& key) {
  return {
      .topic = t.alert(key), .payload = "", .retain = mq::Retain::yes, .kind = MessageKind::alert};
}

Outgoing event(const mq::Topics& t, std::string payload) {
  return {.topic = t.events(),
          .payload = std::move(payload),
          .retain = mq::Retain::no,
          .kind = MessageKind::event};
}

Outgoing status(const mq::Topics& t, std::string payload) {
  return {.topic = t.status(),
          .payload = std::move(payload),
          .retain = mq::Retain::yes,
          .kind = MessageKind::status};
}

Outgoing sensor_config(const mq::Topics& t, std::string_view node_id, const std::string& key,
                       std::string payload) {
  return {.topic = t.discovery(node_id, key),
          .payload = std::move(payload),
          .retain = mq::Retain::yes,
          .kind = MessageKind::discovery};
}

Outgoing sensor_state(const mq::Topics& t, const std::string& key, std::string payload) {
  return {.topic = t.sensor_state(key),
          .payload = std::move(payload),
          .retain = mq::Retain::yes,
          .kind = MessageKind::discovery};
}

Outgoing sensor_removal(const mq::Topics& t, std::string_view node_id, const std::string& key) {
  return {.topic = t.discovery(node_id, key),
          .payload = "",
          .retain = mq::Retain::yes,
          .kind = MessageKind::discovery,
          .acknowledges = Acknowledges::sensor_removal,
          .key = key};
}

Outgoing sensor_state_removal(const mq::Topics& t, const std::string& key) {
  return sensor_state(t, key, "");
}

Outgoing sensor_retire(const mq::Topics& t, std::string_view node_id, const std::string& key) {
  return sensor_config(t, node_id, key, "");
}

}  // namespace outgoing
}  // namespace certwatch::agent
