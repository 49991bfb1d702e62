// Shared by the MQTT alert tests: a TLS PKI (root, broker with IP:127.0.0.1, client
// certificates for the agent and the subscribers), a Mosquitto with `require_certificate true`
// that can be stopped and started again on the same port (and keep retained messages and
// sessions on disk), a live `mosquitto_sub` whose lines are read back, and a snapshot of the
// retained topics. Header-only, like agent_harness.h.
#pragma once

#include <catch2/catch.hpp>

#include <csignal>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "integration/mosquitto_broker.h"
#include "support/fixtures.h"
#include "support/pki_fixture.h"

namespace mqtt_test {

namespace fs = std::filesystem;

struct TlsPki {
  testing::PkiFixture fixture;
  testing::CertFiles root, broker, agent, subscriber;
  explicit TlsPki(const fs::path& dir)
      : fixture(dir),
        root(fixture.root("mqtt-root", testing::CertOptions::of("MQTT Test Root").with_days(3650))),
        broker(fixture.server("broker", root,
                              testing::CertOptions::of("mqtt.test").with_ext(
                                  "basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\n"
                                  "extendedKeyUsage = serverAuth\nsubjectAltName = IP:127.0.0.1, DNS:mqtt.test\n"))),
        agent(fixture.client("agent", root, testing::CertOptions::of("certwatch-agent"))),
        subscriber(fixture.client("subscriber", root, testing::CertOptions::of("subscriber"))) {}
  // mosquitto_sub / mosquitto_pub TLS arguments.
  std::vector<std::string> client_args(int port) const {
    return {"-h", "127.0.0.1", "-p", std::to_string(port), "--cafile", root.cert.string(), "--cert",
            subscriber.cert.string(), "--key", subscriber.key.string()};
  }
};

inline bool has_text(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

// Mosquitto on a fixed port with TLS and require_certificate; `persistent`: retained messages
// and sessions survive stop()/start() (saved on stop, as mosquitto does on SIGTERM).
class Broker {
 public:
  Broker(const fs::path& dir, const TlsPki& pki, bool persistent, std::string extra = "")
      : dir_(dir), port_(testing::free_port()) {
    fs::create_directories(dir_ / "mosquitto-data");
    testing::write_file(dir_ / "mosquitto.conf",
                        "user " + mosquitto_test::current_user() + "\npersistence " + (persistent ? "true" : "false") +
                            "\npersistence_location " + (dir_ / "mosquitto-data").string() + "/\nlog_dest file " +
                            (dir_ / "mosquitto.log").string() + "\nlog_type all\nlistener " + std::to_string(port_) +
                            " 127.0.0.1\nrequire_certificate true\ncafile " + pki.root.cert.string() + "\ncertfile " +
                            pki.broker.cert.string() + "\nkeyfile " + pki.broker.key.string() + "\n" +
                            (has_text(extra, "allow_anonymous") ? "" : "allow_anonymous true\n") + extra);
    start();
  }
  void start() {
    process_ = std::make_unique<testing::Process>(
        std::vector<std::string>{"mosquitto", "-c", (dir_ / "mosquitto.conf").string()},
        dir_ / ("mosquitto-" + std::to_string(++starts_) + ".out"));
    REQUIRE(testing::wait_for_port(port_, std::chrono::seconds(10)));
  }
  void stop() {
    if (!process_) return;
    process_->signal(SIGTERM);
    REQUIRE(process_->wait(std::chrono::seconds(10)).has_value());
    process_.reset();
  }
  int port() const { return port_; }
  std::string url() const { return "mqtts://127.0.0.1:" + std::to_string(port_); }
  std::string log() const { return testing::read_file(dir_ / "mosquitto.log"); }

 private:
  fs::path dir_;
  int port_;
  int starts_ = 0;
  std::unique_ptr<testing::Process> process_;
};

struct Message {
  bool retained = false;
  std::string topic;
  std::string payload;
};

// A mosquitto_sub on `filter` for the whole test, QoS 1 with a persistent session (-c), so it
// also gets what was published while the broker restarted. Lines "retained|topic|payload".
class Subscriber {
 public:
  Subscriber(const fs::path& dir, const TlsPki& pki, int port, const std::string& filter, const std::string& id)
      : log_(dir / ("sub-" + id + ".log")) {
    std::vector<std::string> argv{"mosquitto_sub"};
    for (auto& a : pki.client_args(port)) argv.push_back(a);
    for (std::string a : {"-q", "1", "-c", "-i", id.c_str(), "-t", filter.c_str(), "-F", "%r|%t|%p"}) argv.push_back(a);
    process_ = std::make_unique<testing::Process>(argv, log_);
  }
  std::vector<Message> messages() const {
    std::vector<Message> out;
    std::istringstream in(testing::read_file(log_));
    for (std::string line; std::getline(in, line);) {
      const auto a = line.find('|');
      const auto b = a == std::string::npos ? a : line.find('|', a + 1);
      if (b == std::string::npos) continue;
      out.push_back({line.substr(0, a) == "1", line.substr(a + 1, b - a - 1), line.substr(b + 1)});
    }
    return out;
  }
  // Waits (bounded) until a message satisfies pred.
  template <class Pred>
  bool wait_for(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(20)) const {
    return testing::eventually(
        [&] {
          for (const auto& m : messages())
            if (pred(m)) return true;
          return false;
        },
        timeout);
  }

 private:
  fs::path log_;
  std::unique_ptr<testing::Process> process_;
};

// The retained messages under `filter` right now (topic -> payload), read by a fresh client.
inline std::map<std::string, std::string> retained(const TlsPki& pki, int port, const std::string& filter) {
  std::vector<std::string> argv{"mosquitto_sub"};
  for (auto& a : pki.client_args(port)) argv.push_back(a);
  for (std::string a : {"--retained-only", "-W", "2", "-t", filter.c_str(), "-F", "%t|%p"}) argv.push_back(a);
  const auto r = testing::run(argv, std::chrono::seconds(10));
  std::map<std::string, std::string> out;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    const auto a = line.find('|');
    if (a != std::string::npos) out[line.substr(0, a)] = line.substr(a + 1);
  }
  return out;
}

// The string value of "key" in a flat JSON object as our payloads write it ("" if absent).
inline std::string json_string(const std::string& json, const std::string& key) {
  const std::string k = "\"" + key + "\":\"";
  auto p = json.find(k);
  if (p == std::string::npos) return {};
  p += k.size();
  return json.substr(p, json.find('"', p) - p);
}

inline bool has(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

// The mqtt: section for the agent (its client certificate), with extra keys.
inline std::string mqtt_section(const TlsPki& pki, const std::string& url, const std::string& prefix,
                                const std::string& extra = "") {
  return "mqtt:\n  broker: \"" + url + "\"\n  topic_prefix: " + prefix + "\n  client_id: cw-test\n  ca: " +
         pki.root.cert.string() + "\n  cert: " + pki.agent.cert.string() + "\n  key: " + pki.agent.key.string() +
         "\n" + extra;
}

}  // namespace mqtt_test
