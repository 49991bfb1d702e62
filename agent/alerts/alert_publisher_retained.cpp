// What the broker keeps for the publisher: the retained topics it sets again on every
// connection (reconcile), empties before the agent moves to another broker or prefix (retire),
// and the Home Assistant sensors, whose discovery config and state are retained too.
#include "agent/alerts/alert_feed.h"
#include "agent/alerts/alert_publisher.h"

namespace certwatch::agent {
namespace mq = exporters::mqtt;
namespace {

// days_left goes down by itself: the sensors' state is republished this often.
constexpr std::chrono::hours kSensorRefresh{1};

}  // namespace

void AlertPublisher::update_sensor(const TargetId& target, const InventoryEntry* fresh) {
  const std::string key = mq::sensor_key(target.id);
  auto view = sensor_view(target, fresh);
  auto it = sensors_.find(key);
  if (!view) {
    if (it == sensors_.end()) return;
    sensors_.erase(it);
    unsensors_.insert(key);
    enqueue(outgoing::sensor_removal(topics_, node_id_, key));
    enqueue(outgoing::sensor_state_removal(topics_, key));
  } else {
    if (it != sensors_.end() && it->second == *view) return;
    const bool fresh_sensor = it == sensors_.end();
    sensors_[key] = *view;
    unsensors_.erase(key);
    if (fresh_sensor)
      enqueue(outgoing::sensor_config(
          topics_, node_id_, key,
          mq::discovery_config(*view, topics_, node_id_, host_, CERTWATCH_VERSION)));
    enqueue(outgoing::sensor_state(topics_, key, mq::sensor_state(*view, host_, now())));
  }
  keys_dirty_ = true;
}

void AlertPublisher::reconcile() {
  enqueue(outgoing::status(topics_, "online"));
  const int64_t t = now();
  for (const auto& [key, a] : book_.alerts())
    enqueue(outgoing::alert(topics_, key, mq::alert_payload(a.info, host_, a.since, t)));
  for (const auto& key : clearing_) enqueue(outgoing::alert_clear(topics_, key));
  for (const auto& [key, v] : sensors_) {
    enqueue(outgoing::sensor_config(
        topics_, node_id_, key,
        mq::discovery_config(v, topics_, node_id_, host_, CERTWATCH_VERSION)));
    enqueue(outgoing::sensor_state(topics_, key, mq::sensor_state(v, host_, t)));
  }
  for (const auto& key : unsensors_) {
    enqueue(outgoing::sensor_removal(topics_, node_id_, key));
    enqueue(outgoing::sensor_state_removal(topics_, key));
  }
}

void AlertPublisher::arm_sensor_refresh() {
  sensor_timer_->wait_for(kSensorRefresh, [this](bool fired) {
    if (!fired || stopped_) return;
    shielded("the sensor refresh", [&] {
      arm_sensor_refresh();
      for (const auto& [key, v] : sensors_)
        enqueue(outgoing::sensor_state(topics_, key, mq::sensor_state(v, host_, now())));
    });
  });
}

void AlertPublisher::retire() {
  if (stopped_ || !connected_) return stop();
  for (const auto& [key, a] : book_.alerts()) enqueue(outgoing::alert_retire(topics_, key));
  for (const auto& key : clearing_) enqueue(outgoing::alert_retire(topics_, key));
  for (const auto& [key, v] : sensors_) {
    enqueue(outgoing::sensor_retire(topics_, node_id_, key));
    enqueue(outgoing::sensor_state_removal(topics_, key));
  }
  stop();
}

}  // namespace certwatch::agent
