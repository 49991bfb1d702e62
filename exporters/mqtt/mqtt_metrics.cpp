#include "exporters/mqtt/mqtt_metrics.h"

#include <stdexcept>

namespace certwatch::exporters::mqtt {
namespace {

template <class T>
T must(certwatch::Result<T> r) {
  // Only a clash with another family of the same name fails, a programming error.
  if (!r) throw std::logic_error(r.error().message);
  return *r;
}

}  // namespace

MqttMetrics::MqttMetrics(Registry& registry, std::function<void()> touched)
    : touched_(std::move(touched)),
      connected_(must(registry.gauge(kMqttConnected))),
      published_(must(registry.counter(kMqttPublished))),
      buffered_(must(registry.gauge(kMqttBuffered))),
      dropped_(must(registry.counter(kMqttDropped))),
      denied_(must(registry.counter(kMqttDenied))),
      failures_(must(registry.counter(kMqttConnectFailures))),
      last_error_(must(registry.gauge(kMqttLastError))) {
  connected_->add().set(0);
  buffered_->add().set(0);
  dropped_->add();
  denied_->add({"not_authorized"});  // the ACL's reason, there from the start for rules and graphs
  failures_->add();
  for (std::string_view kind : {"status", "alert", "event", "discovery"}) published_->add({kind});
  touched_();
}

void MqttMetrics::set_connected(BrokerLink link) {
  connected_->add().set(link == BrokerLink::up ? 1 : 0);
  if (link == BrokerLink::up) last_error_->clear();
  touched_();
}

void MqttMetrics::connect_failed(std::string_view why) {
  failures_->add().increment();
  last_error_->clear();
  last_error_->add({why}).set(1);
  touched_();
}

void MqttMetrics::published(std::string_view kind) {
  published_->add({kind}).increment();
  touched_();
}

void MqttMetrics::set_buffered(std::size_t n) {
  buffered_->add().set(static_cast<double>(n));
  touched_();
}

void MqttMetrics::dropped(std::size_t n) {
  dropped_->add().increment(static_cast<double>(n));
  touched_();
}

void forget_connection(Registry& registry) {
  must(registry.gauge(kMqttConnected))->clear();
  must(registry.gauge(kMqttLastError))->clear();
}

void MqttMetrics::denied(std::string_view reason) {
  denied_->add({reason}).increment();
  touched_();
}

}  // namespace certwatch::exporters::mqtt
