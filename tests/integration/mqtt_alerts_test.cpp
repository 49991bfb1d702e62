// MQTT alerts against a real Mosquitto with TLS and `require_certificate true` (issue #10,
// point 1): the agent connects with a client certificate; a mosquitto_sub subscriber sees
// status online, a retained alert appear for an expiring certificate and change severity as
// the injected clock moves, and clear (empty retained) when the file is replaced by a fresh
// one; kill -9 of the agent leaves status offline (the last will).
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <thread>

#include "integration/agent_harness.h"
#include "integration/mqtt_alerts_harness.h"
#include "support/in_process_agent.h"

using namespace std::chrono_literals;
using mqtt_test::has;

TEST_CASE("MQTT alerts follow the clock and the file on a TLS broker", "[integration][mqtt][mosquitto]") {
  if (!testing::have_program("mosquitto")) FAIL("mosquitto is not installed");
  testing::TempDir dir;
  mqtt_test::TlsPki pki(dir / "pki");
  mqtt_test::Broker broker(dir.path(), pki, false);
  auto leaf = pki.fixture.server("leaf", pki.root, testing::CertOptions::of("clock.example").with_days(100));
  const auto certs = testing::load_certs(leaf.cert);
  REQUIRE(certs.size() == 1);
  const int64_t not_before = certs[0].validity().not_before;
  const int64_t not_after = certs[0].validity().not_after;
  std::filesystem::create_directories(dir / "watched");
  const auto watched = dir / "watched/leaf.pem";
  std::filesystem::copy_file(leaf.cert, watched);

  const std::string prefix = "certwatch/t1";
  mqtt_test::Subscriber sub(dir.path(), pki, broker.port(), prefix + "/#", "sub-t1");
  const int port = testing::free_port();
  testing::write_file(dir / "certwatch.yaml",
                      agent_test::agent_config(port, {dir / "watched"}, pki.root.cert) +
                          mqtt_test::mqtt_section(pki, broker.url(), prefix, "  hold: 60s\n"));

  testing::InProcessAgent agent(dir / "certwatch.yaml", not_before + 86400);
  auto alert_with = [&](const std::string& severity) {
    return [&, severity](const mqtt_test::Message& m) {
      return has(m.topic, prefix + "/alerts/clock.example.cert.expires_soon.") &&
             has(m.payload, "\"severity\":\"" + severity + "\"");
    };
  };

  // Online, and nothing to say about a certificate with 99 days left.
  REQUIRE(sub.wait_for([&](const auto& m) { return m.topic == prefix + "/status" && m.payload == "online"; }));
  REQUIRE(testing::eventually([&] { return agent.ready(); }, 10s));

  // 25 days left: a retained warning alert and a "raised" event.
  agent.advance_to(not_after - 25 * 86400);
  REQUIRE(sub.wait_for(alert_with("warning")));
  CHECK(sub.wait_for([&](const auto& m) {
    return m.topic == prefix + "/events" && has(m.payload, "\"event\":\"raised\"") &&
           has(m.payload, "\"seconds_left\":" + std::to_string(25 * 86400));
  }));
  auto snapshot = mqtt_test::retained(pki, broker.port(), prefix + "/#");
  REQUIRE(snapshot.size() == 2);  // status and the one alert
  CHECK(snapshot[prefix + "/status"] == "online");
  std::string alert_topic;
  for (const auto& [topic, payload] : snapshot)
    if (has(topic, "/alerts/")) alert_topic = topic;
  CHECK(has(snapshot[alert_topic], "\"severity\":\"warning\""));
  CHECK(has(snapshot[alert_topic], "\"subject_cn\":\"clock.example\""));
  CHECK(has(snapshot[alert_topic], "\"serial\":\"" + agent_test::openssl_serial(leaf.cert) + "\""));

  // 5 days left: critical at once (a severity going up is not held).
  agent.advance_to(not_after - 5 * 86400);
  REQUIRE(sub.wait_for(alert_with("critical")));
  CHECK(sub.wait_for([&](const auto& m) {
    return has(m.payload, "\"event\":\"severity_changed\"") && has(m.payload, "\"previous_severity\":\"warning\"");
  }));
  CHECK(has(mqtt_test::retained(pki, broker.port(), alert_topic)[alert_topic], "\"severity\":\"critical\""));

  // The file replaced by a fresh certificate: the clear waits for the hold, then the
  // retained alert is emptied.
  auto fresh = pki.fixture.server("fresh", pki.root,
                                  testing::CertOptions::of("clock.example").with_days(365));
  testing::write_file(dir / "watched/.leaf.tmp", testing::read_file(fresh.cert));
  std::filesystem::rename(dir / "watched/.leaf.tmp", watched);
  REQUIRE(testing::eventually([&] {
    return agent.on_loop([&] {
      const auto* e = agent.daemon().inventory().find(certwatch::agent::file_target(watched.string()));
      return e != nullptr && e->report.findings.empty();
    });
  }, 20s));
  std::this_thread::sleep_for(300ms);
  CHECK(mqtt_test::retained(pki, broker.port(), alert_topic).size() == 1);  // held
  agent.advance_to(agent.now() + 61);
  REQUIRE(sub.wait_for([&](const auto& m) { return m.topic == alert_topic && m.retained == false && m.payload.empty(); }));
  CHECK(sub.wait_for([&](const auto& m) { return has(m.payload, "\"event\":\"cleared\""); }));
  CHECK(mqtt_test::retained(pki, broker.port(), prefix + "/alerts/#").empty());

  // A clean stop says offline itself.
  CHECK(agent.stop() == 0);
  CHECK(mqtt_test::retained(pki, broker.port(), prefix + "/status")[prefix + "/status"] == "offline");

  // The real binary, killed with -9: the broker publishes its last will.
  agent_test::AgentProcess process(dir.path(), dir / "certwatch.yaml", port);
  REQUIRE(process.wait_ready());
  REQUIRE(testing::eventually(
      [&] { return mqtt_test::retained(pki, broker.port(), prefix + "/status")[prefix + "/status"] == "online"; }, 20s));
  REQUIRE(process.process().signal(SIGKILL));
  CHECK(testing::eventually(
      [&] { return mqtt_test::retained(pki, broker.port(), prefix + "/status")[prefix + "/status"] == "offline"; }, 20s));
  const auto all = sub.messages();
  CHECK(all.back().topic == prefix + "/status");
  CHECK(all.back().payload == "offline");
}

TEST_CASE("MQTT alerts: SIGHUP to another topic prefix moves the retained state", "[integration][mqtt][mosquitto]") {
  if (!testing::have_program("mosquitto")) FAIL("mosquitto is not installed");
  testing::TempDir dir;
  mqtt_test::TlsPki pki(dir / "pki");
  mqtt_test::Broker broker(dir.path(), pki, false);
  testing::PkiFixture other(dir / "other");
  std::filesystem::create_directories(dir / "watched");
  std::filesystem::copy_file(other.root("lonely", testing::CertOptions::of("Lonely")).cert, dir / "watched/lonely.pem");
  const int port = testing::free_port();
  const auto write_config = [&](const std::string& prefix) {
    testing::write_file(dir / "certwatch.yaml", agent_test::agent_config(port, {dir / "watched"}, pki.root.cert) +
                                                    mqtt_test::mqtt_section(pki, broker.url(), prefix, "  hold: 0s\n"));
  };
  const auto alerts_under = [&](const std::string& prefix) {
    return mqtt_test::retained(pki, broker.port(), prefix + "/alerts/#").size();
  };
  const auto status_of = [&](const std::string& prefix) {
    return mqtt_test::retained(pki, broker.port(), prefix + "/status")[prefix + "/status"];
  };
  write_config("certwatch/before");
  agent_test::AgentProcess agent(dir.path(), dir / "certwatch.yaml", port);
  REQUIRE(agent.wait_ready());
  REQUIRE(testing::eventually([&] { return alerts_under("certwatch/before") == 1; }, 20s));

  write_config("certwatch/after");
  REQUIRE(agent.process().signal(SIGHUP));
  CHECK(testing::eventually([&] { return alerts_under("certwatch/after") == 1; }, 20s));
  CHECK(status_of("certwatch/after") == "online");
  CHECK(alerts_under("certwatch/before") == 0);  // emptied before the move
  CHECK(status_of("certwatch/before") == "offline");
  CHECK(agent.process().running());
}
