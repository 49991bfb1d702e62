// The publisher's connection to the broker: attempts with backoff, what it says when one
// fails (Paho's reason, else the client certificate's validity, else a diagnosis of the broker),
// what the Paho client reports as an error of its own, and the publishes the broker refuses.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "agent/alerts/alert_publisher.h"
#include "agent/alerts/broker_diagnosis.h"
#include "exporters/mqtt/reason_codes.h"

namespace certwatch::agent {
namespace mq = exporters::mqtt;
namespace {

constexpr std::chrono::seconds kMaxBackoff{60};
constexpr std::chrono::milliseconds kDiagnosisTimeout{5000};

}  // namespace

void AlertPublisher::handler_failed(std::string_view what, const char* why) noexcept {
  try {
    spdlog::error("MQTT: {} failed: {}", what, why);
  } catch (...) {  // the log itself failed: nothing is left to tell
  }
}

void AlertPublisher::on_client_error(const certwatch::Error& error) {
  spdlog::error("MQTT: {}", error.message);
}

void AlertPublisher::connect() {
  if (stopped_ || !client_) return;
  client_->connect();
}

void AlertPublisher::on_connected() {
  connected_ = true;
  // Messages Paho dropped from its offline buffer never report back: forget them.
  if (const auto pending = client_->pending_ids(); pending)
    std::erase_if(in_flight_, [&](const auto& entry) { return !pending->contains(entry.first); });
  else
    spdlog::warn("MQTT: {}; the buffered count may stay too high", pending.error().message);
  metrics_.set_buffered(in_flight_.size());
  offline_events_ = 0;
  backoff_ = std::chrono::seconds(1);
  metrics_.set_connected(mq::BrokerLink::up);
  if (last_failure_)
    spdlog::info("MQTT: connected to {} (after: {})", cfg_.broker, *last_failure_);
  else
    spdlog::info("MQTT: connected to {}", cfg_.broker);
  last_failure_.reset();
  reconcile();
}

void AlertPublisher::on_failure(const mq::ConnectFailure& f, FailedWhile when) {
  connected_ = false;
  metrics_.set_connected(mq::BrokerLink::down);
  if (f.why) return report_failure(*f.why, when);
  if (cfg_.cert)
    if (auto problem = client_cert_problem(*cfg_.cert, now()))
      return report_failure(*problem, when);
  // A transport found sound means the broker itself failed the CONNECT: by closing it, or,
  // when Paho waited its whole connect timeout, by never answering.
  std::optional<std::chrono::seconds> unanswered;
  if (f.unanswered) unanswered = client_->options().connect_timeout;
  diagnose_broker(io_, cfg_.broker, BrokerTls{.ca = cfg_.ca, .cert = cfg_.cert, .key = cfg_.key},
                  kDiagnosisTimeout, now(), unanswered,
                  [this, when, alive = std::weak_ptr<bool>(alive_)](BrokerDiagnosis d) {
                    if (auto a = alive.lock(); a && *a && !stopped_)
                      shielded("the broker diagnosis", [&] { report_failure(d.words, when); });
                  });
}

void AlertPublisher::report_failure(const std::string& why, FailedWhile when) {
  metrics_.connect_failed(why);
  // Once per change of reason: a broker down for a day is one line, not 1,440.
  if (why != last_failure_) {
    spdlog::warn(
        "MQTT: {} {}: {}; monitoring goes on, alerts are kept for the broker (retrying up to every "
        "{} s)",
        when == FailedWhile::connected ? "lost the connection to" : "cannot connect to",
        cfg_.broker, why, kMaxBackoff.count());
    last_failure_ = why;
  }
  retry_timer_.expires_after(backoff_);
  backoff_ = std::min(backoff_ * 2, std::chrono::seconds(kMaxBackoff));
  retry_timer_.async_wait(
      [this, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& ec) {
        if (auto a = alive.lock(); a && *a && !ec) shielded("reconnecting", [&] { connect(); });
      });
}

std::string AlertPublisher::topic_pattern(MessageKind kind) const {
  switch (kind) {
    case MessageKind::status:
      return topics_.status();
    case MessageKind::alert:
      return topics_.alert("+");
    case MessageKind::event:
      return topics_.events();
    case MessageKind::discovery:
      return topics_.discovery(node_id_, "+") + " and " + topics_.sensor_state("+");
  }
  return topics_.prefix + "/#";
}

void AlertPublisher::on_denied(MessageKind kind, int reason) {
  const mq::Refusal refusal = mq::publish_refusal(reason);
  metrics_.denied(refusal.label);
  // The topic's pattern, never the payload, and once until that pattern goes through again:
  // an ACL that denies every alert is one line, not one per alert and reconnect.
  std::string pattern = topic_pattern(kind);
  if (!denials_said_.emplace(pattern, reason).second) return;
  spdlog::error(
      "MQTT: {} refused our publishes to {}: {}; they are not delivered (counted in "
      "certwatch_mqtt_messages_denied_total): check the broker's ACL for client id {}",
      cfg_.broker, pattern, refusal.words, cfg_.client_id);
}

}  // namespace certwatch::agent
