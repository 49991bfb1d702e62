// The Paho MQTT C++ client, wrapped for an event loop: every callback Paho makes on its own
// threads (connected, lost, connect failed, delivered) is handed to `post` and
// reaches `MqttClientEvents` on the loop's thread; nothing else is touched on Paho's threads.
//
// MQTT 5 by default: its acknowledgements carry a reason code, so a publish the broker refuses
// (an ACL's denial: PUBACK 0x87) arrives as Delivery::refused. MQTT 3.1.1 acknowledges a denied
// publish like any other (the broker drops it silently); it stays available for old brokers.
//
// What Paho does for us (and we do not redo): file persistence under `persistence_dir` of
// in-flight QoS 1/2 messages and of messages published while disconnected (restored when a
// client with the same id and directory is created again, e.g. after kill -9), the offline
// buffer with its bound (the oldest go first), and the last will. Connecting and reconnecting
// are the caller's (connect() per attempt): Paho's automatic reconnect only starts after a
// first success and says nothing about why an attempt failed.
//
// Thread-safety: create, use and destroy on the loop's thread. After destruction no event is
// delivered, even if Paho had already posted one.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "base/result.h"

namespace certwatch::exporters::mqtt {

// The MQTT version spoken (config `mqtt.protocol`).
enum class Protocol { v5, v3_1_1 };

struct MqttClientOptions {
  std::string broker;  // as configured: mqtt://, mqtts://, tcp://, ssl://, ws://, wss://
  std::string client_id;
  std::filesystem::path persistence_dir;
  int max_buffered = 10000;  // messages kept while disconnected; beyond it the oldest go
  int qos = 1;
  std::chrono::seconds keepalive{30};
  std::chrono::seconds connect_timeout{10};
  std::optional<std::filesystem::path> ca;  // file or directory
  std::optional<std::filesystem::path> cert;
  std::optional<std::filesystem::path> key;
  std::optional<std::string> username;
  std::optional<std::string> password;  // never logged
  std::string will_topic;               // gets a retained "offline" when the connection dies
  Protocol protocol = Protocol::v5;
};

// Whether the broker keeps a message for later subscribers (MQTT's retain flag).
enum class Retain { no, yes };
// How a publish() ended: acknowledged (QoS 1/2) or written (QoS 0); refused by the broker
// with an MQTT 5 reason code of 0x80 or above (QoS 1/2 only); or failed (not handed over).
enum class Delivery { done, refused, failed };

// A connect attempt that failed. `why` is nothing when Paho gave no reason (any TCP or TLS
// failure: its C++ API keeps none). `unanswered`: the attempt lasted the whole
// connect_timeout, i.e. nothing (no TCP or TLS answer, no CONNACK) came back in time, as
// opposed to a refusal or a closed connection.
struct ConnectFailure {
  std::optional<std::string> why;
  bool unanswered = false;
};

struct MqttClientEvents {
  std::function<void()> connected;
  std::function<void(const ConnectFailure& failure)> connect_failed;
  std::function<void(const std::string& why)> connection_lost;
  // `reason`: the broker's MQTT 5 reason code when refused, else 0.
  std::function<void(uint64_t id, Delivery how, int reason)> delivered;
  // An exception met on Paho's threads or in one of the handlers above, converted; the
  // connection is not changed by it (a lost connect outcome also arrives as connect_failed).
  std::function<void(const certwatch::Error& error)> failed;
};

// Paho's form of a broker URL: mqtt:// -> tcp://, mqtts:// -> ssl://, and the default port
// (1883, or 8883 with TLS) added when the URL names none.
std::string paho_uri(const std::string& broker);
bool uses_tls(const std::string& broker);

class MqttClient {
 public:
  using Post = std::function<void(std::function<void()>)>;
  // Errors: an unusable URL or client id, a persistence directory that cannot be made, an
  // unreadable password file's contents (given as `password`).
  static certwatch::Result<std::unique_ptr<MqttClient>> create(MqttClientOptions options, Post post,
                                                               MqttClientEvents events);
  ~MqttClient();
  MqttClient(const MqttClient&) = delete;
  MqttClient& operator=(const MqttClient&) = delete;

  // One connection attempt; its outcome arrives as connected or connect_failed.
  void connect();
  // Hands one message to Paho (buffered while disconnected). The id comes back in delivered.
  // An error when Paho refuses it outright.
  certwatch::Result<uint64_t> publish(const std::string& topic, const std::string& payload,
                                      Retain retain);
  // Clean stop: `last` (topic, payload, retained) is published first if connected, then a
  // disconnect that lets in-flight messages finish. Blocks for at most `timeout`.
  void disconnect(const std::string& last_topic, const std::string& last_payload,
                  std::chrono::milliseconds timeout);
  // The ids of the publish() calls Paho still holds (in flight or buffered).
  certwatch::Result<std::set<uint64_t>> pending_ids() const;
  const MqttClientOptions& options() const { return options_; }

  struct Bridge;

 private:
  MqttClient(MqttClientOptions options, std::shared_ptr<Bridge> bridge);
  struct Paho;
  MqttClientOptions options_;
  std::shared_ptr<Bridge> bridge_;
  std::unique_ptr<Paho> paho_;
  uint64_t next_id_ = 1;
};

}  // namespace certwatch::exporters::mqtt
