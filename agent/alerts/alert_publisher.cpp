#include "agent/alerts/alert_publisher.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>

#include "agent/alerts/alert_feed.h"
#include "exporters/mqtt/payloads.h"
#include "exporters/mqtt/published_keys.h"
#include "pki/load/read_file.h"

namespace certwatch::agent {
namespace mq = exporters::mqtt;
namespace {

constexpr std::chrono::milliseconds kStopTimeout{3000};
constexpr std::chrono::milliseconds kKeysInterval{50};

mq::AlertTiming timing_of(const config::MqttConfig& cfg) {
  return mq::AlertTiming{.hold = cfg.hold.count(), .renotify = cfg.renotify.count()};
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
  o.protocol = cfg_.protocol == config::MqttProtocol::v5 ? mq::Protocol::v5 : mq::Protocol::v3_1_1;
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
  ev.connect_failed = [g = guard(&AlertPublisher::on_failure)](const mq::ConnectFailure& f) {
    g(f, FailedWhile::connecting);
  };
  ev.connection_lost = [g = guard(&AlertPublisher::on_failure)](const std::string& why) {
    g(mq::ConnectFailure{.why = why}, FailedWhile::connected);
  };
  ev.delivered = guard(&AlertPublisher::on_delivered);
  ev.failed = guard(&AlertPublisher::on_client_error);
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
  feed_alerts(book_, policy(), change, fresh, now(), ts);
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
  if (stopped_) return;
  std::vector<mq::AlertTransition> ts;
  inventory.certificates().for_each([&](const Certificate& cert) {
    CertificateChange c;
    c.sha256 = cert.sha256();
    c.now = &cert;
    c.record = cert.record;
    c.raised = cert.findings();
    feed_certificate(book_, policy(), c, now(), ts);
  });
  apply(ts);
  arm_hold_timer();
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
      enqueue(outgoing::sensor_removal(topics_, node_id_, key));
      enqueue(outgoing::sensor_state_removal(topics_, key));
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
      case mq::AlertEvent::updated:
        clearing_.erase(key);
        enqueue(outgoing::alert(topics_, key, mq::alert_payload(tr.info, host_, tr.since, t)));
        keys_dirty_ = true;
        break;
      case mq::AlertEvent::cleared:
        clearing_.insert(key);
        enqueue(outgoing::alert_clear(topics_, key));
        keys_dirty_ = true;
        break;
      case mq::AlertEvent::reminder:
        keys_dirty_ = true;  // notified_at moved: a restart keeps the reminder rhythm
        break;
    }
    // An update is the retained alert alone: its places moved, nothing to announce.
    if (tr.event != mq::AlertEvent::updated)
      enqueue(outgoing::event(topics_, mq::event_payload(tr, host_, t)));
  }
}

void AlertPublisher::renewal_finished(const mq::RenewalEvent& event) {
  if (stopped_) return;
  enqueue(outgoing::event(topics_, mq::renewal_event_payload(event, host_, now())));
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
    if (auto a = alive.lock(); a && *a) shielded_flush();
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
            if (auto a = alive.lock(); a && *a && !ec) shielded_flush();
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
    if (!connected_ && o.kind != MessageKind::event) continue;
    auto id = client_->publish(o.topic, o.payload, o.retain);
    if (!id) {
      spdlog::debug("MQTT: {}", id.error().message);
      if (o.kind == MessageKind::event) metrics_.dropped();
      continue;
    }
    in_flight_[*id] =
        InFlight{.kind = o.kind, .acknowledges = o.acknowledges, .key = std::move(o.key)};
    if (!connected_ && ++offline_events_ > cfg_.buffer_limit) {
      // Paho dropped its oldest buffered message to make room: the oldest event of ours.
      for (auto it = in_flight_.begin(); it != in_flight_.end(); ++it)
        if (it->second.kind == MessageKind::event) {
          in_flight_.erase(it);
          break;
        }
      metrics_.dropped();
    }
  }
  metrics_.set_buffered(in_flight_.size());
}

void AlertPublisher::shielded_flush() {
  bool done = false;
  shielded("publishing", [&] {
    flush();
    done = true;
  });
  // A flush that threw half-way must not leave the next one waiting for it forever.
  if (!done) flush_posted_ = false;
}

void AlertPublisher::save_keys() {
  keys_dirty_ = false;
  keys_written_ = std::chrono::steady_clock::now();
  std::set<std::string> sensor_keys = restored_sensors_;
  for (const auto& [k, v] : sensors_) sensor_keys.insert(k);
  auto r = mq::write_published(keys_path_,
                               mq::render_published(book_, clearing_, sensor_keys, unsensors_));
  std::optional<std::string> error;
  if (!r) error = r.error().message;
  if (error != keys_error_) {
    if (error) spdlog::error("MQTT: cannot save the published keys: {}", *error);
    keys_error_ = std::move(error);
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
    // Thrown half-way, the timer is armed again by the next change.
    shielded("the alert hold timer", [&] {
      std::vector<mq::AlertTransition> ts;
      book_.tick(now(), ts);
      apply(ts);
      arm_hold_timer();
    });
  });
}

void AlertPublisher::on_delivered(uint64_t id, mq::Delivery how, int reason) {
  auto it = in_flight_.find(id);
  if (it == in_flight_.end())
    return;  // dropped from Paho's buffer, or restored from an earlier run
  InFlight f = std::move(it->second);
  in_flight_.erase(it);
  metrics_.set_buffered(in_flight_.size());
  // The window has room again, whatever the outcome: what waits behind it goes on.
  if (!queue_.empty()) schedule_flush();
  // Neither a failure nor a refusal is a delivery: a clear stays in clearing_ (and in the keys
  // file), and every retained topic is published again by the next reconciliation.
  if (how == mq::Delivery::failed) {
    if (f.kind == MessageKind::event) metrics_.dropped();
    return;
  }
  if (how == mq::Delivery::refused) return on_denied(f.kind, reason);
  metrics_.published(to_string(f.kind));
  // The pattern goes through again: a later denial there is news, and is logged.
  if (!denials_said_.empty()) {
    const std::string pattern = topic_pattern(f.kind);
    std::erase_if(denials_said_, [&](const auto& d) { return d.first == pattern; });
  }
  auto& acked = f.acknowledges == Acknowledges::sensor_removal ? unsensors_ : clearing_;
  if (f.acknowledges != Acknowledges::nothing && acked.erase(f.key) > 0) keys_dirty_ = true;
  if (keys_dirty_) schedule_flush();
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
  metrics_.set_connected(mq::BrokerLink::down);
}

}  // namespace certwatch::agent
