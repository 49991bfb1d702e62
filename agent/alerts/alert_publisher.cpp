#include "agent/alerts/alert_publisher.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>

#include "agent/alerts/alert_feed.h"
#include "agent/alerts/broker_diagnosis.h"
#include "exporters/mqtt/payloads.h"
#include "exporters/mqtt/published_keys.h"
#include "pki/load/read_file.h"

namespace certwatch::agent {
namespace mq = exporters::mqtt;
namespace {

constexpr std::chrono::seconds kMaxBackoff{60};
constexpr std::chrono::milliseconds kStopTimeout{3000};
constexpr std::chrono::milliseconds kDiagnosisTimeout{5000};
constexpr std::chrono::hours kSensorRefresh{1};
constexpr std::chrono::milliseconds kKeysInterval{50};

mq::AlertTiming timing_of(const config::MqttConfig& cfg) {
  return mq::AlertTiming{cfg.hold.count(), cfg.renotify.count()};
}

}  // namespace

AlertPublisher::AlertPublisher(boost::asio::io_context& io, Clock& clock,
                               const config::MqttConfig& cfg,
                               const std::filesystem::path& state_dir,
                               exporters::Registry& registry, std::function<void()> touched)
    : io_(io),
      clock_(clock),
      configured_(cfg),
      state_dir_(state_dir),
      cfg_(cfg),
      host_(local_host_name()),
      node_id_(mq::node_id_for(host_)),
      topics_{cfg.topic_prefix.empty() ? "certwatch/" + host_ : cfg.topic_prefix},
      keys_path_(state_dir / "mqtt" / "published"),
      persistence_dir_(state_dir / "mqtt" / "paho"),
      metrics_(registry, std::move(touched)),
      book_(timing_of(cfg)),
      hold_timer_(clock.make_timer()),
      sensor_timer_(clock.make_timer()),
      retry_timer_(io),
      flush_timer_(io) {
  if (cfg_.client_id.empty()) cfg_.client_id = "certwatch-" + host_;
}

AlertPublisher::~AlertPublisher() {
  *alive_ = false;
  stop();
}

void AlertPublisher::start() {
  // What an earlier run left retained: taken as published until the first scan says otherwise.
  auto restored = mq::read_published(keys_path_);
  if (!restored) {
    spdlog::warn("MQTT: {}: {}; retained alerts of an earlier run will not be cleared",
                 keys_path_.string(), restored.error().message);
  } else {
    for (auto& r : restored->alerts) book_.restore(std::move(r.info), r.since, r.notified_at);
    clearing_ = std::move(restored->clearing);
    restored_sensors_ = std::move(restored->sensors);
    unsensors_ = std::move(restored->unsensors);
  }
  mq::MqttClientOptions o;
  o.broker = cfg_.broker;
  o.client_id = cfg_.client_id;
  o.persistence_dir = persistence_dir_;
  o.max_buffered = static_cast<int>(cfg_.buffer_limit);
  o.qos = cfg_.qos;
  o.keepalive = cfg_.keepalive;
  o.ca = cfg_.ca;
  o.cert = cfg_.cert;
  o.key = cfg_.key;
  o.username = cfg_.username;
  o.will_topic = topics_.status();
  if (cfg_.password_file) {
    auto pw = pki::read_regular_file(*cfg_.password_file, pki::kMaxSecretBytes);
    if (!pw) {
      // The message names the file, never its content.
      spdlog::error("MQTT: password file: {}; not connecting", pw.error().message);
      metrics_.connect_failed("password file unreadable");
      return;
    }
    while (!pw->empty() && (pw->back() == '\n' || pw->back() == '\r')) pw->pop_back();
    o.password = std::move(*pw);
  }
  std::weak_ptr<bool> alive = alive_;
  auto guard = [this, alive](auto fn) {
    return [this, alive, fn](auto&&... args) {
      if (auto a = alive.lock(); a && *a && !stopped_)
        (this->*fn)(std::forward<decltype(args)>(args)...);
    };
  };
  mq::MqttClientEvents ev;
  ev.connected = guard(&AlertPublisher::on_connected);
  ev.connect_failed = [g = guard(&AlertPublisher::on_failure)](const std::string& why) {
    g(why, false);
  };
  ev.connection_lost = [g = guard(&AlertPublisher::on_failure)](const std::string& why) {
    g(why, true);
  };
  ev.delivered = guard(&AlertPublisher::on_delivered);
  auto client = mq::MqttClient::create(
      std::move(o), [&io = io_](std::function<void()> fn) { boost::asio::post(io, std::move(fn)); },
      std::move(ev));
  if (!client) {
    spdlog::error("MQTT: {}; not connecting", client.error().message);
    metrics_.connect_failed(client.error().message);
    return;
  }
  client_ = std::move(*client);
  if (cfg_.home_assistant) arm_sensor_refresh();
  spdlog::info("MQTT: publishing to {} as {} under {}/", cfg_.broker, cfg_.client_id,
               topics_.prefix);
  connect();
}

void AlertPublisher::on_change(const InventoryChange& change, const InventoryEntry*,
                               const InventoryEntry* fresh) {
  if (stopped_ || change.kind == ChangeKind::unchanged) return;
  std::vector<mq::AlertTransition> ts;
  feed_alerts(book_, cfg_.min_severity, change, fresh, now(), ts);
  apply(ts);
  if (cfg_.home_assistant) update_sensor(change.target, fresh);
  arm_hold_timer();
}

void AlertPublisher::seed(const Inventory& inventory) {
  for (const auto& [target, entry] : inventory.entries()) {
    InventoryChange c;
    c.kind = ChangeKind::added;
    c.target = target;
    c.raised = entry.report.findings;
    on_change(c, nullptr, &entry);
  }
}

void AlertPublisher::sources_reported() {
  if (stopped_ || book_.settled()) return;
  std::vector<mq::AlertTransition> ts;
  book_.settle(now(), ts);
  apply(ts);
  // Sensors of certificates that went while the agent was away.
  for (const auto& key : restored_sensors_)
    if (!sensors_.contains(key)) {
      unsensors_.insert(key);
      enqueue({topics_.discovery(node_id_, key), "", true, "discovery", key, true});
      enqueue({topics_.sensor_state(key), "", true, "discovery", "", false});
    }
  restored_sensors_.clear();
  keys_dirty_ = true;
  schedule_flush();
  arm_hold_timer();
}

void AlertPublisher::apply(const std::vector<mq::AlertTransition>& ts) {
  const int64_t t = now();
  for (const auto& tr : ts) {
    const std::string& key = tr.info.key;
    switch (tr.event) {
      case mq::AlertEvent::raised:
      case mq::AlertEvent::severity_changed:
        clearing_.erase(key);
        enqueue({topics_.alert(key), mq::alert_payload(tr.info, host_, tr.since, t), true, "alert",
                 "", false});
        keys_dirty_ = true;
        break;
      case mq::AlertEvent::cleared:
        clearing_.insert(key);
        enqueue({topics_.alert(key), "", true, "alert", key, false});
        keys_dirty_ = true;
        break;
      case mq::AlertEvent::reminder:
        keys_dirty_ = true;  // notified_at moved: a restart keeps the reminder rhythm
        break;
    }
    enqueue({topics_.events(), mq::event_payload(tr, host_, t), false, "event", "", false});
  }
}

void AlertPublisher::renewal_finished(const mq::RenewalEvent& event) {
  if (stopped_) return;
  enqueue({topics_.events(), mq::renewal_event_payload(event, host_, now()), false, "event", "",
           false});
}

void AlertPublisher::update_sensor(const TargetId& target, const InventoryEntry* fresh) {
  const std::string key = mq::sensor_key(target.id);
  auto view = sensor_view(target, fresh);
  auto it = sensors_.find(key);
  if (!view) {
    if (it == sensors_.end()) return;
    sensors_.erase(it);
    unsensors_.insert(key);
    enqueue({topics_.discovery(node_id_, key), "", true, "discovery", key, true});
    enqueue({topics_.sensor_state(key), "", true, "discovery", "", false});
  } else {
    if (it != sensors_.end() && it->second == *view) return;
    const bool fresh_sensor = it == sensors_.end();
    sensors_[key] = *view;
    unsensors_.erase(key);
    if (fresh_sensor)
      enqueue({topics_.discovery(node_id_, key),
               mq::discovery_config(*view, topics_, node_id_, host_, CERTWATCH_VERSION), true,
               "discovery", "", false});
    enqueue({topics_.sensor_state(key), mq::sensor_state(*view, host_, now()), true, "discovery",
             "", false});
  }
  keys_dirty_ = true;
}

void AlertPublisher::enqueue(Outgoing o) {
  queue_.push_back(std::move(o));
  schedule_flush();
}

void AlertPublisher::schedule_flush() {
  if (flush_posted_ || stopped_) return;
  flush_posted_ = true;
  // One flush per turn of the loop: a burst of observations writes the keys file once.
  boost::asio::post(io_, [this, alive = std::weak_ptr<bool>(alive_)] {
    if (auto a = alive.lock(); a && *a) flush();
  });
}

void AlertPublisher::flush() {
  if (stopped_) return;
  // The file first: it must cover every retained topic the broker may hold. Written recently:
  // the messages wait (at most kKeysInterval) and go with the next write.
  if (keys_dirty_) {
    const auto due = keys_written_ + kKeysInterval;
    if (std::chrono::steady_clock::now() < due) {
      flush_timer_.expires_at(due);
      flush_timer_.async_wait(
          [this, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& ec) {
            if (auto a = alive.lock(); a && *a && !ec) flush();
          });
      return;
    }
    save_keys();
  }
  flush_posted_ = false;
  if (!client_) return queue_.clear();
  // Paho's bound (buffer_limit) counts every message it holds unsent, connected or not, and
  // drops the oldest silently beyond it: while connected, at most half of it is handed over
  // unacknowledged; the rest waits here and follows the acknowledgements.
  const std::size_t window = std::max<std::size_t>(1, cfg_.buffer_limit / 2);
  while (!queue_.empty()) {
    if (connected_ && in_flight_.size() >= window) break;
    Outgoing o = std::move(queue_.front());
    queue_.pop_front();
    // Not connected: only events are buffered; the rest is reconciled on connect.
    if (!connected_ && o.kind != "event") continue;
    auto id = client_->publish(o.topic, o.payload, o.retained);
    if (!id) {
      spdlog::debug("MQTT: {}", id.error().message);
      if (o.kind == "event") metrics_.dropped();
      continue;
    }
    in_flight_[*id] = InFlight{o.kind, std::move(o.acknowledges), o.sensor_removal};
    if (!connected_ && ++offline_events_ > cfg_.buffer_limit) {
      // Paho dropped its oldest buffered message to make room: the oldest event of ours.
      for (auto it = in_flight_.begin(); it != in_flight_.end(); ++it)
        if (it->second.kind == "event") {
          in_flight_.erase(it);
          break;
        }
      metrics_.dropped();
    }
  }
  metrics_.set_buffered(in_flight_.size());
}

void AlertPublisher::save_keys() {
  keys_dirty_ = false;
  keys_written_ = std::chrono::steady_clock::now();
  std::set<std::string> sensor_keys = restored_sensors_;
  for (const auto& [k, v] : sensors_) sensor_keys.insert(k);
  auto r = mq::write_published(keys_path_,
                               mq::render_published(book_, clearing_, sensor_keys, unsensors_));
  const std::string error = r ? "" : r.error().message;
  if (error != keys_error_) {
    if (!error.empty()) spdlog::error("MQTT: cannot save the published keys: {}", error);
    keys_error_ = error;
  }
}

void AlertPublisher::reconcile() {
  enqueue({topics_.status(), "online", true, "status", "", false});
  const int64_t t = now();
  for (const auto& [key, a] : book_.alerts())
    enqueue({topics_.alert(key), mq::alert_payload(a.info, host_, a.since, t), true, "alert", "",
             false});
  for (const auto& key : clearing_) enqueue({topics_.alert(key), "", true, "alert", key, false});
  for (const auto& [key, v] : sensors_) {
    enqueue({topics_.discovery(node_id_, key),
             mq::discovery_config(v, topics_, node_id_, host_, CERTWATCH_VERSION), true,
             "discovery", "", false});
    enqueue(
        {topics_.sensor_state(key), mq::sensor_state(v, host_, t), true, "discovery", "", false});
  }
  for (const auto& key : unsensors_) {
    enqueue({topics_.discovery(node_id_, key), "", true, "discovery", key, true});
    enqueue({topics_.sensor_state(key), "", true, "discovery", "", false});
  }
}

void AlertPublisher::arm_hold_timer() {
  const auto deadline = book_.next_deadline();
  if (stopped_ || deadline == armed_deadline_) return;
  armed_deadline_ = deadline;
  if (!deadline) return hold_timer_->cancel();
  const auto delay = std::chrono::seconds(std::max<int64_t>(0, *deadline - now()));
  hold_timer_->wait_for(delay, [this](bool fired) {
    if (!fired || stopped_) return;
    armed_deadline_.reset();
    std::vector<mq::AlertTransition> ts;
    book_.tick(now(), ts);
    apply(ts);
    arm_hold_timer();
  });
}

void AlertPublisher::arm_sensor_refresh() {
  sensor_timer_->wait_for(kSensorRefresh, [this](bool fired) {
    if (!fired || stopped_) return;
    for (const auto& [key, v] : sensors_)
      enqueue({topics_.sensor_state(key), mq::sensor_state(v, host_, now()), true, "discovery", "",
               false});
    arm_sensor_refresh();
  });
}

void AlertPublisher::connect() {
  if (stopped_ || !client_) return;
  client_->connect();
}

void AlertPublisher::on_connected() {
  connected_ = true;
  // Messages Paho dropped from its offline buffer never report back: forget them.
  const auto pending = client_->pending_ids();
  std::erase_if(in_flight_, [&](const auto& entry) { return !pending.contains(entry.first); });
  metrics_.set_buffered(in_flight_.size());
  offline_events_ = 0;
  backoff_ = std::chrono::seconds(1);
  metrics_.set_connected(true);
  if (!last_failure_.empty())
    spdlog::info("MQTT: connected to {} (after: {})", cfg_.broker, last_failure_);
  else
    spdlog::info("MQTT: connected to {}", cfg_.broker);
  last_failure_.clear();
  reconcile();
}

void AlertPublisher::on_failure(const std::string& why, bool lost) {
  connected_ = false;
  metrics_.set_connected(false);
  if (!why.empty()) return report_failure(why, lost);
  if (cfg_.cert)
    if (auto problem = client_cert_problem(*cfg_.cert, now()))
      return report_failure(*problem, lost);
  diagnose_broker(io_, cfg_.broker, BrokerTls{cfg_.ca, cfg_.cert, cfg_.key}, kDiagnosisTimeout,
                  [this, lost, alive = std::weak_ptr<bool>(alive_)](BrokerDiagnosis d) {
                    if (auto a = alive.lock(); a && *a && !stopped_) report_failure(d.words, lost);
                  });
}

void AlertPublisher::report_failure(const std::string& why, bool lost) {
  metrics_.connect_failed(why);
  // Once per change of reason: a broker down for a day is one line, not 1,440.
  if (why != last_failure_) {
    spdlog::warn(
        "MQTT: {} {}: {}; monitoring goes on, alerts are kept for the broker (retrying up to every "
        "{} s)",
        lost ? "lost the connection to" : "cannot connect to", cfg_.broker, why,
        kMaxBackoff.count());
    last_failure_ = why;
  }
  retry_timer_.expires_after(backoff_);
  backoff_ = std::min(backoff_ * 2, std::chrono::seconds(kMaxBackoff));
  retry_timer_.async_wait(
      [this, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& ec) {
        if (auto a = alive.lock(); a && *a && !ec) connect();
      });
}

void AlertPublisher::on_delivered(uint64_t id, bool ok) {
  auto it = in_flight_.find(id);
  if (it == in_flight_.end())
    return;  // dropped from Paho's buffer, or restored from an earlier run
  InFlight f = std::move(it->second);
  in_flight_.erase(it);
  metrics_.set_buffered(in_flight_.size());
  if (!ok) {
    if (f.kind == "event") metrics_.dropped();
    return;  // a retained topic is published again by the next reconciliation
  }
  metrics_.published(f.kind);
  if (!queue_.empty()) schedule_flush();
  auto& acked = f.sensor_removal ? unsensors_ : clearing_;
  if (!f.acknowledges.empty() && acked.erase(f.acknowledges) > 0) keys_dirty_ = true;
  if (keys_dirty_) schedule_flush();
}

void AlertPublisher::retire() {
  if (stopped_ || !connected_) return stop();
  for (const auto& [key, a] : book_.alerts())
    enqueue({topics_.alert(key), "", true, "alert", "", false});
  for (const auto& key : clearing_) enqueue({topics_.alert(key), "", true, "alert", "", false});
  for (const auto& [key, v] : sensors_) {
    enqueue({topics_.discovery(node_id_, key), "", true, "discovery", "", false});
    enqueue({topics_.sensor_state(key), "", true, "discovery", "", false});
  }
  stop();
}

void AlertPublisher::stop() {
  if (stopped_) return;
  // What is queued goes to Paho (persisted) before the goodbye, whatever the rate limit.
  keys_written_ = {};
  flush();
  stopped_ = true;
  hold_timer_->cancel();
  sensor_timer_->cancel();
  retry_timer_.cancel();
  flush_timer_.cancel();
  if (keys_dirty_) save_keys();
  if (client_) client_->disconnect(topics_.status(), "offline", kStopTimeout);
  client_.reset();
  connected_ = false;
  metrics_.set_connected(false);
}

}  // namespace certwatch::agent
