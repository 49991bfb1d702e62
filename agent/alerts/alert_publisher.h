// The MQTT alerts of the agent (issue #10): an inventory subscriber that keeps the alert book
// (exporters/mqtt/alert_state.h), publishes alerts, events and the agent's status through
// the Paho client (exporters/mqtt/mqtt_client.h), and reconciles the retained topics on every
// connection with what is active and with what an earlier run or connection left behind (the
// published-keys file under state_dir/mqtt/).
//
// Lifecycle: start() connects (and reconnects with backoff, 1 s doubling to 60 s); the daemon
// calls sources_reported() after its first scan (restored alerts not seen again then clear);
// stop() publishes status offline and disconnects. A broker that is away, refuses us or
// whose certificate fails does not stop monitoring: the reason is logged once per change of
// reason and kept in certwatch_mqtt_last_connect_error_info.
//
// While disconnected, events go to Paho's offline buffer (persisted, bounded by
// buffer_limit, the oldest dropped and counted); alert, status and discovery topics are not
// buffered at all: the reconciliation on connect publishes their current state, so an
// overflow can only cost events, never an alert's state.
//
// Thread-safety: the io_context thread only; Paho's callbacks arrive posted.
#pragma once

#include <utility>  // before asio: Boost 1.74 + GCC 12 + C++20

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "agent/alerts/alert_feed.h"
#include "agent/alerts/outgoing.h"
#include "agent/clock/clock.h"
#include "agent/inventory/inventory.h"
#include "config/config.h"
#include "exporters/mqtt/alert_state.h"
#include "exporters/mqtt/home_assistant.h"
#include "exporters/mqtt/mqtt_client.h"
#include "exporters/mqtt/mqtt_metrics.h"
#include "exporters/mqtt/payloads.h"
#include "exporters/mqtt/topics.h"
#include "exporters/prometheus/metrics.h"

namespace certwatch::agent {

class AlertPublisher {
 public:
  // `registry` and `touched`: the agent's metrics registry and its change hook.
  AlertPublisher(boost::asio::io_context& io, Clock& clock, const config::MqttConfig& cfg,
                 const std::filesystem::path& state_dir, exporters::Registry& registry,
                 std::function<void()> touched);
  ~AlertPublisher();
  AlertPublisher(const AlertPublisher&) = delete;
  AlertPublisher& operator=(const AlertPublisher&) = delete;

  void start();
  // Takes the inventory's current findings as observed (a publisher made on reload, when the
  // inventory is already full).
  void seed(const Inventory& inventory);
  // An InventoryListener.
  void on_change(const InventoryChange& change, const InventoryEntry* old,
                 const InventoryEntry* fresh);
  void sources_reported();
  // A renewal transaction ended (agent/renew): one message on `events`, buffered like the
  // others while the broker is away.
  void renewal_finished(const exporters::mqtt::RenewalEvent& event);
  void stop();
  // Before a reload moves the agent to another broker or topic prefix: every retained topic
  // it published there is emptied (if connected), then stop().
  void retire();

  const config::MqttConfig& config() const { return configured_; }
  const std::filesystem::path& state_dir() const { return state_dir_; }

 private:
  // A message handed to Paho, until it reports back.
  struct InFlight {
    MessageKind kind = MessageKind::event;
    Acknowledges acknowledges = Acknowledges::nothing;
    std::string key = {};
  };
  // Which connection a failure ended: an attempt, or one that was up.
  enum class FailedWhile { connecting, connected };

  int64_t now() const { return clock_.now(); }
  AlertPolicy policy() const {
    return {.min_severity = cfg_.min_severity, .quiet_managed_expiry = cfg_.quiet_managed_expiry};
  }
  // Runs the work of one Asio handler or timer callback of ours: what it throws (std::bad_alloc
  // while building a payload, a library's exception) is logged here and never reaches the loop.
  template <class F>
  void shielded(std::string_view what, F&& work) noexcept {
    try {
      work();
    } catch (const std::exception& e) {
      handler_failed(what, e.what());
    } catch (...) {
      handler_failed(what, "unknown exception");
    }
  }
  void handler_failed(std::string_view what, const char* why) noexcept;
  void on_client_error(const certwatch::Error& error);
  void apply(const std::vector<exporters::mqtt::AlertTransition>& ts);
  void update_sensor(const TargetId& target, const InventoryEntry* fresh);
  void enqueue(Outgoing o);
  void schedule_flush();
  void flush();
  void shielded_flush();  // flush() as the work of a handler
  void reconcile();
  void arm_hold_timer();
  void arm_sensor_refresh();
  void connect();
  void on_connected();
  // `f.why`: nothing when Paho kept no reason (diagnosed here).
  void on_failure(const exporters::mqtt::ConnectFailure& f, FailedWhile when);
  void report_failure(const std::string& why, FailedWhile when);
  void on_delivered(uint64_t id, exporters::mqtt::Delivery how, int reason);
  // A publish the broker refused (MQTT 5 reason >= 0x80): counted, logged once per topic
  // pattern and reason until a publish to that pattern goes through again.
  void on_denied(MessageKind kind, int reason);
  std::string topic_pattern(MessageKind kind) const;
  void save_keys();

  boost::asio::io_context& io_;
  Clock& clock_;
  config::MqttConfig configured_;  // as given (cfg_ has the defaults filled in)
  std::filesystem::path state_dir_;
  config::MqttConfig cfg_;
  std::string host_;
  std::string node_id_;
  exporters::mqtt::Topics topics_;
  std::filesystem::path keys_path_;
  std::filesystem::path persistence_dir_;
  exporters::mqtt::MqttMetrics metrics_;
  exporters::mqtt::AlertBook book_;
  std::set<std::string>
      clearing_;  // alert keys whose empty retained message is not yet acknowledged
  std::map<std::string, exporters::mqtt::SensorView> sensors_;
  std::set<std::string> unsensors_;         // sensor keys whose removal is not yet acknowledged
  std::set<std::string> restored_sensors_;  // from the file, not yet seen in this run
  std::deque<Outgoing> queue_;              // not yet handed to Paho (order kept)
  std::map<uint64_t, InFlight> in_flight_;
  std::unique_ptr<exporters::mqtt::MqttClient> client_;
  std::unique_ptr<ClockTimer> hold_timer_;
  std::unique_ptr<ClockTimer> sensor_timer_;  // days_left goes down by itself: republished hourly
  std::optional<int64_t> armed_deadline_;
  boost::asio::steady_timer retry_timer_;  // reconnect backoff: real time, not certificate time
  // The keys file is rewritten at most every kKeysInterval: a burst of 10,000 alerts is a few
  // dozen writes (and fsyncs), not one per turn of the loop.
  boost::asio::steady_timer flush_timer_;
  std::chrono::steady_clock::time_point keys_written_{};
  std::chrono::seconds backoff_{1};
  std::size_t offline_events_ = 0;           // events handed to Paho since the connection went
  std::optional<std::string> last_failure_;  // the reason last logged (nothing while connected)
  std::optional<std::string> keys_error_;    // the keys file's last write error, logged once
  std::set<std::pair<std::string, int>> denials_said_;  // (topic pattern, reason) logged
  bool connected_ = false;
  bool flush_posted_ = false;
  bool keys_dirty_ = false;
  bool stopped_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// "certwatch/<hostname>" and "certwatch-<hostname>" when the config leaves them out.
std::string local_host_name();

// Makes `publisher` match the config: started when `mqtt:` appears, replaced when it or the
// state directory changes, stopped when it goes; a reload that changes neither keeps it.
// `sources_reported`: the first scan is done (the new publisher settles at once).
void update_alert_publisher(std::unique_ptr<AlertPublisher>& publisher, boost::asio::io_context& io,
                            Clock& clock, const config::Config& cfg, const Inventory& inventory,
                            exporters::Registry& registry, std::function<void()> touched,
                            bool sources_reported);

}  // namespace certwatch::agent
