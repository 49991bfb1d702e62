// Home Assistant MQTT discovery (issue #10, point 5): with `home_assistant: true` each watched
// leaf becomes a sensor. The retained discovery config is checked by Python's json module
// against the fields Home Assistant's MQTT sensor schema needs (state_topic, unique_id,
// device with identifiers, unit_of_measurement, value_template, availability), its state
// topic carries days_left and the severity; removing the certificate empties both (which is
// how Home Assistant removes a discovered entity).
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>

#include "integration/agent_harness.h"
#include "integration/mqtt_alerts_harness.h"

using namespace std::chrono_literals;
using mqtt_test::has;

namespace {

// Validates a discovery config; prints "ok <state_topic>" or what is wrong.
constexpr const char* kValidate = R"PY(
import json, sys
c = json.loads(sys.stdin.read())
need = {"name": str, "unique_id": str, "state_topic": str, "value_template": str,
        "unit_of_measurement": str, "json_attributes_topic": str, "availability_topic": str,
        "payload_available": str, "payload_not_available": str, "device": dict}
for k, t in need.items():
    if not isinstance(c.get(k), t): sys.exit("missing or wrong type: " + k)
d = c["device"]
if not (isinstance(d.get("identifiers"), list) and d["identifiers"] and isinstance(d.get("name"), str)):
    sys.exit("device needs identifiers and name")
if c["unit_of_measurement"] != "d" or c.get("device_class") != "duration": sys.exit("unit")
if not all(ch.isalnum() or ch in "_-" for ch in c["unique_id"]): sys.exit("unique_id charset")
if "value_json.days_left" not in c["value_template"]: sys.exit("template")
print("ok " + c["state_topic"] + " " + c["availability_topic"])
)PY";

}  // namespace

TEST_CASE("MQTT alerts: Home Assistant discovery, validated and removed on clear", "[integration][mqtt][mosquitto]") {
  if (!testing::have_program("mosquitto")) FAIL("mosquitto is not installed");
  if (!testing::have_program("python3")) FAIL("python3 is not installed");
  testing::TempDir dir;
  mqtt_test::TlsPki pki(dir / "pki");
  mqtt_test::Broker broker(dir.path(), pki, false);
  std::filesystem::create_directories(dir / "watched");
  auto leaf = pki.fixture.server("leaf", pki.root, testing::CertOptions::of("sensor.example").with_days(20));
  std::filesystem::copy_file(leaf.cert, dir / "watched/sensor.pem");
  const std::string prefix = "certwatch/ha";
  mqtt_test::Subscriber sub(dir.path(), pki, broker.port(), "homeassistant/#", "sub-ha");
  const int port = testing::free_port();
  testing::write_file(dir / "certwatch.yaml",
                      agent_test::agent_config(port, {dir / "watched"}, pki.root.cert) +
                          mqtt_test::mqtt_section(pki, broker.url(), prefix, "  hold: 0s\n  home_assistant: true\n"));
  agent_test::AgentProcess agent(dir.path(), dir / "certwatch.yaml", port);
  REQUIRE(agent.wait_ready());

  mqtt_test::Message config;
  REQUIRE(sub.wait_for([&](const auto& m) {
    if (!m.topic.starts_with("homeassistant/sensor/") || !m.topic.ends_with("/config") || m.payload.empty()) return false;
    config = m;
    return true;
  }));
  const auto check = testing::run({"python3", "-c", kValidate}, 30s, config.payload);
  INFO(config.payload << "\n" << check.err);
  REQUIRE(check.exit_code == 0);
  const std::string state_topic = check.out.substr(3, check.out.find(' ', 3) - 3);
  CHECK(state_topic.starts_with(prefix + "/certs/sensor.pem."));
  CHECK(has(check.out, " " + prefix + "/status"));
  CHECK(has(config.payload, "\"name\":\"sensor.example certificate\""));
  // The state: days left (20 of a 20-day lifetime: no finding yet), severity, subject.
  const auto state = mqtt_test::retained(pki, broker.port(), state_topic)[state_topic];
  INFO(state);
  CHECK((has(state, "\"days_left\":20.0,") || has(state, "\"days_left\":19.9,")));
  CHECK(has(state, "\"severity\":\"ok\""));
  CHECK(has(state, "\"subject_cn\":\"sensor.example\""));
  // Two sensors: a second certificate gets its own unique id.
  auto second = pki.fixture.server("second", pki.root, testing::CertOptions::of("second.example").with_days(20));
  std::filesystem::copy_file(second.cert, dir / "watched/second.pem");
  CHECK(sub.wait_for([&](const auto& m) { return has(m.topic, "/second_pem_") && has(m.payload, "second.example"); }));

  // The certificate goes: the discovery config and the state are emptied (retained).
  std::filesystem::remove(dir / "watched/sensor.pem");
  CHECK(sub.wait_for([&](const auto& m) { return m.topic == config.topic && m.payload.empty(); }));
  CHECK(testing::eventually([&] { return mqtt_test::retained(pki, broker.port(), state_topic).empty(); }, 20s));
  const auto left = mqtt_test::retained(pki, broker.port(), "homeassistant/#");
  CHECK(left.size() == 1);  // the second certificate's sensor only
  CHECK(has(left.begin()->first, "/second_pem_"));
}
