#include "exporters/mqtt/mqtt_client.h"

#include <mqtt/async_client.h>

#include <atomic>
#include <exception>
#include <system_error>

#include "exporters/mqtt/reason_codes.h"
#include "pki/deploy/atomic_file.h"

namespace certwatch::exporters::mqtt {
namespace {

// The broker's MQTT 5 reason code on a token, or 0 (none, or MQTT 3.1.1).
int broker_reason(const ::mqtt::token& tok) {
  const int reason = tok.get_reason_code();
  return reason == ::mqtt::ReasonCode::MQTTPP_V3_CODE ? 0 : reason;
}

// CONNACK return codes of MQTT 3.1.1 (section 3.2.2.3), which Paho passes as the failure code,
// and the reason codes of MQTT 5 (Paho passes them as the failure code or as the reason).
// Nothing when Paho keeps no reason (a TCP or TLS failure): the caller diagnoses.
std::optional<std::string> connack_reason(int rc, int reason) {
  if (reason >= kFirstFailureReason) return connack5_refusal(reason);
  if (rc >= kFirstFailureReason) return connack5_refusal(rc);
  switch (rc) {
    case 1:
      return "broker refused the connection: unacceptable protocol version (CONNACK 1)";
    case 2:
      return "broker refused the connection: client id rejected (CONNACK 2)";
    case 3:
      return "broker refused the connection: server unavailable (CONNACK 3)";
    case 4:
      return "broker refused the connection: bad user name or password (CONNACK 4)";
    case 5:
      return "broker refused the connection: not authorized (CONNACK 5)";
    case MQTTASYNC_FAILURE:
      return std::nullopt;
    default:
      return "connect failed: " + ::mqtt::exception::error_str(rc) + " (code " +
             std::to_string(rc) + ")";
  }
}

}  // namespace

bool uses_tls(const std::string& broker) {
  return broker.starts_with("mqtts://") || broker.starts_with("ssl://") ||
         broker.starts_with("wss://");
}

std::string paho_uri(const std::string& broker) {
  std::string uri = broker;
  if (uri.starts_with("mqtt://")) uri = "tcp://" + uri.substr(7);
  if (uri.starts_with("mqtts://")) uri = "ssl://" + uri.substr(8);
  if (uri.starts_with("tcp://") || uri.starts_with("ssl://")) {
    const std::string rest = uri.substr(6);
    // "host", "host:port", "[v6]", "[v6]:port"
    const auto close = rest.rfind(']');
    const auto colon = rest.rfind(':');
    const bool has_port =
        colon != std::string::npos && (close == std::string::npos || colon > close);
    if (!has_port) uri += uses_tls(broker) ? ":8883" : ":1883";
  }
  return uri;
}

// What Paho's threads share with the loop: they only call post(); the posted work checks
// `open` on the loop's thread, so nothing runs after the client is gone.
//
// No exception returns into Paho (its C library calls these) or out of the posted work (an
// Asio handler): each is caught where it happens and becomes an Error for events.failed. A
// report that could not even be posted (std::bad_alloc) is counted without allocating and
// said on the loop at the next chance (the next report, or publish()); a lost
// connect outcome or connection loss is also reported as connect_failed, so that the caller
// retries instead of waiting for an answer that will not come.
struct MqttClient::Bridge : ::mqtt::iaction_listener {
  Post post;
  MqttClientEvents events;
  bool open = true;  // loop thread only
  std::weak_ptr<Bridge> self;
  std::atomic<unsigned> missed_outcomes{0};  // connect outcomes and losses not posted
  std::atomic<unsigned> missed_reports{0};   // delivery reports not posted
  // When the current connect attempt began (steady clock), and how long Paho gives it: an
  // attempt that fails after all of it had no answer at all.
  std::atomic<std::chrono::steady_clock::rep> attempt_started{0};
  std::chrono::milliseconds connect_timeout{0};

  // What a Paho callback reports: whether the caller waits for it to connect again.
  enum class Report { outcome, delivery };
  // Any thread.
  template <class F>
  void guarded(Report report, F&& body) noexcept {
    try {
      body();
    } catch (...) {
      (report == Report::outcome ? missed_outcomes : missed_reports).fetch_add(1);
    }
  }
  void later(std::function<void(Bridge&)> fn) {
    post([weak = self, fn = std::move(fn)] {
      auto b = weak.lock();
      if (!b || !b->open) return;
      b->say_missed();
      b->shielded("client event", [&] { fn(*b); });
    });
  }
  // Loop thread: runs `fn`; what it throws goes to events.failed.
  template <class F>
  void shielded(const char* what, F&& fn) noexcept {
    try {
      fn();
    } catch (const std::exception& e) {
      fail(what, e.what());
    } catch (...) {
      fail(what, "unknown exception");
    }
  }
  void fail(const char* what, const char* why) noexcept {
    try {
      if (events.failed) events.failed(certwatch::make_error(std::string(what) + ": " + why));
    } catch (...) {  // the handler of last resort failed too: nothing is left to tell
    }
  }
  // Loop thread, inside the caller's own work: the missed reports are said on a later turn of
  // the loop (the wrapper of later() says them), not in the middle of that work.
  void post_missed() noexcept {
    if (missed_outcomes.load() + missed_reports.load() == 0) return;
    try {
      later([](Bridge&) {});
    } catch (...) {  // still no memory: the counts stay for the next chance
    }
  }
  // Loop thread.
  void say_missed() noexcept {
    const unsigned outcomes = missed_outcomes.exchange(0);
    const unsigned reports = missed_reports.exchange(0);
    if (outcomes + reports == 0) return;
    shielded("client", [&] {
      if (events.failed)
        events.failed(certwatch::make_error(std::to_string(outcomes + reports) +
                                            " report(s) from Paho's threads could not be posted"));
    });
    if (outcomes > 0)
      shielded("client event", [&] {
        if (events.connect_failed)
          events.connect_failed({.why = std::string("the outcome of a connect attempt was lost")});
      });
  }
  // Connect attempts.
  void on_failure(const ::mqtt::token& tok) override {
    guarded(Report::outcome, [&] {
      const int rc = tok.get_return_code();
      const auto elapsed = std::chrono::steady_clock::now().time_since_epoch() -
                           std::chrono::steady_clock::duration(attempt_started.load());
      // Paho's own timeout (a failure with no reason); a small margin for its timer's tick.
      const bool unanswered =
          rc == MQTTASYNC_FAILURE && elapsed >= connect_timeout - std::chrono::milliseconds(500);
      later([rc, reason = broker_reason(tok), unanswered](Bridge& b) {
        if (b.events.connect_failed)
          b.events.connect_failed({.why = connack_reason(rc, reason), .unanswered = unanswered});
      });
    });
  }
  void on_success(const ::mqtt::token&) override {
    guarded(Report::outcome, [&] {
      later([](Bridge& b) {
        if (b.events.connected) b.events.connected();
      });
    });
  }
};

namespace {

// Publishes: the id travels as the token's user context.
struct DeliveryListener : ::mqtt::iaction_listener {
  std::weak_ptr<MqttClient::Bridge> bridge;
  void report(const ::mqtt::token& tok, Delivery how, int reason) {
    const auto id = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(tok.get_user_context()));
    if (auto b = bridge.lock())
      b->guarded(MqttClient::Bridge::Report::delivery, [&] {
        b->later([id, how, reason](MqttClient::Bridge& br) {
          if (br.events.delivered) br.events.delivered(id, how, reason);
        });
      });
  }
  // MQTT 5: a PUBACK (QoS 1) or PUBREC (QoS 2) at 0x80 or above arrives here with its reason.
  void on_failure(const ::mqtt::token& tok) override {
    const int reason = broker_reason(tok);
    if (reason >= kFirstFailureReason)
      report(tok, Delivery::refused, reason);
    else
      report(tok, Delivery::failed, 0);
  }
  void on_success(const ::mqtt::token& tok) override { report(tok, Delivery::done, 0); }
};

}  // namespace

struct MqttClient::Paho {
  std::unique_ptr<::mqtt::async_client> client;
  ::mqtt::connect_options connect_options;
  DeliveryListener delivery;
};

MqttClient::MqttClient(MqttClientOptions options, std::shared_ptr<Bridge> bridge)
    : options_(std::move(options)), bridge_(std::move(bridge)), paho_(std::make_unique<Paho>()) {}

certwatch::Result<std::unique_ptr<MqttClient>> MqttClient::create(MqttClientOptions o, Post post,
                                                                  MqttClientEvents events) {
  auto bridge = std::make_shared<Bridge>();
  bridge->post = std::move(post);
  bridge->events = std::move(events);
  bridge->self = bridge;
  bridge->connect_timeout = o.connect_timeout;
  std::unique_ptr<MqttClient> c(new MqttClient(std::move(o), bridge));
  const MqttClientOptions& opt = c->options_;
  const bool v5 = opt.protocol == Protocol::v5;
  std::error_code ec;
  // Owner only: the persisted messages name every certificate and finding of the host.
  if (auto made = pki::make_directories(opt.persistence_dir, 0700); !made)
    return certwatch::make_error("MQTT persistence directory " + opt.persistence_dir.string() +
                                 ": " + made.error().message);
  try {
    ::mqtt::create_options create(v5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1);
    create.set_send_while_disconnected(true, true);  // also before the first connection
    create.set_max_buffered_messages(opt.max_buffered);
    create.set_delete_oldest_messages(true);
    create.set_restore_messages(true);
    c->paho_->client = std::make_unique<::mqtt::async_client>(paho_uri(opt.broker), opt.client_id,
                                                              create, opt.persistence_dir.string());
    ::mqtt::connect_options& co = c->paho_->connect_options;
    co.set_mqtt_version(v5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1);
    // The broker keeps our session: QoS 1 survives a reconnect. MQTT 5 ends a session at the
    // disconnect unless it is given an expiry: the largest, "never", as 3.1.1 sessions are.
    co.set_clean_session(false);
    if (v5) {
      co.set_clean_start(false);
      co.set_properties({::mqtt::property(::mqtt::property::SESSION_EXPIRY_INTERVAL, int32_t{-1})});
    }
    co.set_keep_alive_interval(static_cast<int>(opt.keepalive.count()));
    co.set_connect_timeout(static_cast<int>(opt.connect_timeout.count()));
    co.set_automatic_reconnect(false);
    constexpr bool retained = true;
    co.set_will(::mqtt::will_options(opt.will_topic, std::string("offline"), opt.qos, retained));
    if (opt.username) co.set_user_name(*opt.username);
    if (opt.password) co.set_password(*opt.password);
    if (uses_tls(opt.broker)) {
      ::mqtt::ssl_options ssl;
      ssl.set_enable_server_cert_auth(true);
      ssl.set_verify(true);  // the broker's name (or IP) must match its certificate
      if (opt.ca) {
        if (std::filesystem::is_directory(*opt.ca, ec))
          ssl.ca_path(opt.ca->string());
        else
          ssl.set_trust_store(opt.ca->string());
      }
      if (opt.cert) ssl.set_key_store(opt.cert->string());
      if (opt.key) ssl.set_private_key(opt.key->string());
      // No ssl.set_error_handler(): Paho C++ 1.2 keeps a pointer to the ssl_options object
      // it was set on, which connect_options copies away (a crash on the first TLS error).
      // The agent diagnoses TLS failures itself (agent/alerts/broker_diagnosis.h).
      co.set_ssl(std::move(ssl));
    }
    std::weak_ptr<Bridge> weak = bridge;
    c->paho_->client->set_connection_lost_handler([weak](const std::string& cause) {
      if (auto b = weak.lock())
        b->guarded(Bridge::Report::outcome, [&] {
          b->later([cause](Bridge& br) {
            if (br.events.connection_lost)
              br.events.connection_lost(cause.empty() ? "connection lost" : cause);
          });
        });
    });
    c->paho_->delivery.bridge = bridge;
  } catch (const std::exception& e) {  // ::mqtt::exception, or std::bad_alloc
    return certwatch::make_error("MQTT client for " + opt.broker + ": " + e.what());
  }
  return c;
}

MqttClient::~MqttClient() {
  bridge_->open = false;
  try {
    paho_->client.reset();
  } catch (...) {  // a destructor does not throw; Paho's own cleanup errors have no one to tell
  }
}

void MqttClient::connect() {
  bridge_->attempt_started = std::chrono::steady_clock::now().time_since_epoch().count();
  try {
    paho_->client->connect(paho_->connect_options, nullptr, *bridge_);
  } catch (const std::exception& e) {
    // Reported like Paho's own answer: on the loop, after this call returns.
    bridge_->guarded(Bridge::Report::outcome, [&] {
      bridge_->later([why = std::string(e.what())](Bridge& b) {
        if (b.events.connect_failed)
          b.events.connect_failed({.why = std::string("connect failed: ") + why});
      });
    });
  }
}

certwatch::Result<uint64_t> MqttClient::publish(const std::string& topic,
                                                const std::string& payload, Retain retain) {
  bridge_->post_missed();
  const uint64_t id = next_id_++;
  try {
    auto msg = ::mqtt::make_message(topic, payload, options_.qos, retain == Retain::yes);
    paho_->client->publish(msg, reinterpret_cast<void*>(static_cast<uintptr_t>(id)),
                           paho_->delivery);
  } catch (const std::exception& e) {  // ::mqtt::exception, or std::bad_alloc
    return certwatch::make_error(std::string("publish to ") + topic + ": " + e.what());
  }
  return id;
}

certwatch::Result<std::set<uint64_t>> MqttClient::pending_ids() const {
  try {
    std::set<uint64_t> ids;
    for (const auto& tok : paho_->client->get_pending_delivery_tokens())
      if (tok)
        ids.insert(static_cast<uint64_t>(reinterpret_cast<uintptr_t>(tok->get_user_context())));
    return ids;
  } catch (const std::exception& e) {
    return certwatch::make_error(std::string("MQTT pending messages: ") + e.what());
  }
}

void MqttClient::disconnect(const std::string& last_topic, const std::string& last_payload,
                            std::chrono::milliseconds timeout) {
  try {
    if (paho_->client->is_connected()) {
      constexpr bool retained = true;  // the status topic's last word stays for subscribers
      auto tok = paho_->client->publish(
          ::mqtt::make_message(last_topic, last_payload, options_.qos, retained));
      tok->wait_for(timeout / 2);
    }
    paho_->client->disconnect(static_cast<int>(timeout.count() / 2))->wait_for(timeout / 2);
  } catch (const std::exception&) {  // not connected: nothing to say goodbye to
  }
}

}  // namespace certwatch::exporters::mqtt
