// Why a connection to the broker failed, when Paho only says "failure" (its C++ API keeps no
// message for a TCP or TLS failure): the client certificate's own expiry is checked first,
// then the broker's host is resolved, its port connected to and TLS tried with the agent's
// own CA and client certificate, all within one deadline. The answer (BrokerDiagnosis)
// carries one sentence for the log and the certwatch_mqtt_last_connect_error_info label, the
// same for the same cause (the publisher logs once per change of it), and whether the
// transport itself was found sound.
// Thread-safety: the io_context thread; `done` is called there, once.
#pragma once

#include <utility>  // before asio: Boost 1.74 + GCC 12 + C++20

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "base/result.h"

namespace certwatch::agent {

struct BrokerAddress {
  std::string host;  // without brackets for IPv6
  uint16_t port = 0;
};
// "mqtts://h:8883/x" -> {h, 8883}; the scheme's default port when none (1883, 8883, 80, 443).
certwatch::Result<BrokerAddress> broker_address(const std::string& url);

// "client certificate /x.pem expired on 2026-01-01T00:00:00Z", or nothing (missing or
// unreadable files are the TLS stack's to report).
std::optional<std::string> client_cert_problem(const std::filesystem::path& cert, int64_t now);

// What the diagnosis found. The connection failed either way (that is why it runs); `words`
// say why. When every step the agent can check passed (resolve, connect, handshake and the
// served chain judged against the agent's CA), `transport_ok` is true and the words say the
// broker itself ended the MQTT CONNECT or never answered it: a sentence that is no error of
// ours, typed as such rather than told apart by its text.
struct BrokerDiagnosis {
  bool transport_ok = false;
  std::string words;
};

// The agent's TLS settings for the broker (mqtt: ca, cert, key).
struct BrokerTls {
  std::optional<std::filesystem::path> ca;
  std::optional<std::filesystem::path> cert;
  std::optional<std::filesystem::path> key;
};

// Resolves, connects, and for TLS URLs shakes hands with the agent's CA and client
// certificate and waits briefly for the broker's verdict on that certificate. The served chain
// is judged at `now` (the caller's Clock when the diagnosis starts: it lasts `timeout` at most).
// `unanswered`: the failed attempt waited this long and got nothing back; when the transport
// is sound, the words then say that no CONNACK came within it (a broker that accepts and never
// answers), not that the broker ended the CONNECT.
void diagnose_broker(boost::asio::io_context& io, const std::string& url, const BrokerTls& tls,
                     std::chrono::milliseconds timeout, int64_t now,
                     std::optional<std::chrono::seconds> unanswered,
                     std::function<void(BrokerDiagnosis)> done);

}  // namespace certwatch::agent
