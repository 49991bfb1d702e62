// What the publisher hands to the broker, one factory per kind of message, so that every call
// site says what it sends (a retained alert, its clearing, an event) instead of spelling topic,
// payload and flags in a row. The flags are the MQTT contract (exporters/mqtt/README.md): alert,
// status and Home Assistant topics are retained, events are not; all go at the configured QoS.
// Thread-safety: values.
#pragma once

#include <string>
#include <string_view>

#include "exporters/mqtt/mqtt_client.h"
#include "exporters/mqtt/topics.h"

namespace certwatch::agent {

// Also the `kind` label of certwatch_mqtt_published_total.
enum class MessageKind { status, alert, event, discovery };
std::string_view to_string(MessageKind k);

// Which set of not-yet-acknowledged retained removals a delivery takes a key out of.
enum class Acknowledges { nothing, alert_clear, sensor_removal };

struct Outgoing {
  std::string topic;
  std::string payload;
  exporters::mqtt::Retain retain = exporters::mqtt::Retain::no;
  MessageKind kind = MessageKind::event;
  Acknowledges acknowledges = Acknowledges::nothing;
  std::string key = {};  // the alert or sensor key `acknowledges` names
};

namespace outgoing {

// The alert while active: its JSON, retained.
Outgoing alert(const exporters::mqtt::Topics& t, const std::string& key, std::string payload);
// The alert cleared: an empty retained message; delivered, it leaves the clearing set.
Outgoing alert_clear(const exporters::mqtt::Topics& t, const std::string& key);
// The alert emptied before moving to another broker or prefix (nothing waits for it).
Outgoing alert_retire(const exporters::mqtt::Topics& t, const std::string& key);
Outgoing event(const exporters::mqtt::Topics& t, std::string payload);
Outgoing status(const exporters::mqtt::Topics& t, std::string payload);
Outgoing sensor_config(const exporters::mqtt::Topics& t, std::string_view node_id,
                       const std::string& key, std::string payload);
Outgoing sensor_state(const exporters::mqtt::Topics& t, const std::string& key,
                      std::string payload);
// The sensor gone: its discovery config emptied (delivered, it leaves the removal set) and its
// state emptied.
Outgoing sensor_removal(const exporters::mqtt::Topics& t, std::string_view node_id,
                        const std::string& key);
Outgoing sensor_state_removal(const exporters::mqtt::Topics& t, const std::string& key);
// The sensor's discovery config emptied before moving (nothing waits for it).
Outgoing sensor_retire(const exporters::mqtt::Topics& t, std::string_view node_id,
                       const std::string& key);

}  // namespace outgoing
}  // namespace certwatch::agent
