// MQTT alerts with bad input (issue #10, point 4): a wrong broker address, a broker whose
// certificate our CA does not sign, an expired client certificate, refused credentials. The
// agent keeps monitoring (its findings stay on /metrics), says why once per change of
// reason however often it retries, and exposes it in certwatch_mqtt_last_connect_error_info;
// a topic prefix with a wildcard is refused at load with file:line:col.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <ctime>

#include "integration/agent_harness.h"
#include "integration/mqtt_alerts_harness.h"

using namespace std::chrono_literals;
using mqtt_test::has;

namespace {

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

// Runs the agent with `mqtt` as its mqtt: section on a directory with one untrusted
// certificate, until it has failed to connect twice (Paho's retries back off: 1 s, 2 s, 4 s...,
// so a third would cost each section 4 s more); checks that it kept monitoring
// and said why once. Returns the error label.
std::string run_failing(const testing::TempDir& dir, const mqtt_test::TlsPki& pki,
                        const std::string& mqtt) {
  const auto watched = dir / "watched";
  std::filesystem::create_directories(watched);
  testing::PkiFixture other(dir / "other-pki");
  auto lonely = other.root("lonely", testing::CertOptions::of("Lonely Root"));
  std::filesystem::copy_file(lonely.cert, watched / "lonely.pem",
                             std::filesystem::copy_options::overwrite_existing);
  const int port = testing::free_port();
  testing::write_file(dir / "certwatch.yaml",
                      agent_test::agent_config(port, {watched}, pki.root.cert) + mqtt);
  agent_test::AgentProcess agent(dir.path(), dir / "certwatch.yaml", port);
  REQUIRE(agent.wait_ready());
  const bool failed_twice = testing::eventually(
      [&] {
        const auto s = agent_test::series(agent.metrics(), "certwatch_mqtt_connect_failures_total");
        return !s.empty() && agent_test::value_of(s[0]) >= 2;
      },
      60s);
  const std::string metrics = agent.metrics();
  const std::string log = agent.log();
  INFO(log);
  REQUIRE(failed_twice);
  CHECK(agent.process().running());
  // Still monitoring: the untrusted certificate's finding is exported.
  CHECK_FALSE(agent_test::series(metrics, "certwatch_finding", {"id=\"chain.untrusted\""}).empty());
  CHECK(agent_test::value_of(agent_test::series(metrics, "certwatch_mqtt_connected")[0]) == 0);
  CHECK(count(log, "MQTT: cannot connect to") == 1);  // two failures, one reason, one line
  const auto error = agent_test::series(metrics, "certwatch_mqtt_last_connect_error_info");
  REQUIRE(error.size() == 1);
  const std::string why = agent_test::label_value(error[0], "error");
  CHECK(has(log, why.substr(0, 40)));
  return why;
}

}  // namespace

TEST_CASE("MQTT alerts with bad input keep monitoring and say why once",
          "[integration][mqtt][mosquitto]") {
  if (!testing::have_program("mosquitto")) FAIL("mosquitto is not installed");
  testing::TempDir dir;
  mqtt_test::TlsPki pki(dir / "pki");
  const std::string prefix = "certwatch/bad";

  SECTION("wrong broker address: a closed port") {
    const std::string url = "mqtts://127.0.0.1:" + std::to_string(testing::free_port());
    const auto why = run_failing(dir, pki, mqtt_test::mqtt_section(pki, url, prefix));
    CHECK(has(why, "Connection refused"));
  }
  SECTION("a broker our CA did not sign") {
    testing::PkiFixture other(dir / "other");
    auto other_root = other.root("other-root", testing::CertOptions::of("Other Root"));
    mqtt_test::Broker broker(dir.path(), pki, false);
    const auto section = "mqtt:\n  broker: \"" + broker.url() + "\"\n  topic_prefix: " + prefix +
                         "\n  ca: " + other_root.cert.string() +
                         "\n  cert: " + pki.agent.cert.string() +
                         "\n  key: " + pki.agent.key.string() + "\n";
    const auto why = run_failing(dir, pki, section);
    CHECK(has(why, "certificate verify failed"));
  }
  SECTION("an expired client certificate") {
    mqtt_test::Broker broker(dir.path(), pki, false);
    auto expired = pki.fixture.client("expired", pki.root,
                                      testing::CertOptions::of("certwatch-agent")
                                          .with_days(1)
                                          .with_not_before(std::time(nullptr) - 3 * 86400));
    const auto section = "mqtt:\n  broker: \"" + broker.url() + "\"\n  topic_prefix: " + prefix +
                         "\n  ca: " + pki.root.cert.string() +
                         "\n  cert: " + expired.cert.string() + "\n  key: " + expired.key.string() +
                         "\n";
    const auto why = run_failing(dir, pki, section);
    CHECK(has(why, "client certificate " + expired.cert.string() + " expired on"));
  }
  SECTION("credentials refused") {
    testing::write_file(dir / "passwd", "");
    REQUIRE(testing::run(
                {"mosquitto_passwd", "-b", (dir / "passwd").string(), "certwatch", "right-one"})
                .exit_code == 0);
    mqtt_test::Broker broker(
        dir.path(), pki, false,
        "allow_anonymous false\npassword_file " + (dir / "passwd").string() + "\n");
    testing::write_file(dir / "wrong-password", "wrong-one\n");
    const auto why = run_failing(
        dir, pki,
        mqtt_test::mqtt_section(
            pki, broker.url(), prefix,
            "  username: certwatch\n  password_file: " + (dir / "wrong-password").string() + "\n"));
    CHECK(has(why, "broker refused the connection"));
    CHECK((has(why, "CONNACK 0x87") || has(why, "CONNACK 0x86")));         // MQTT 5 reason codes
    CHECK_FALSE(has(testing::read_file(dir / "agent.log"), "wrong-one"));  // never the password
  }
  SECTION("a topic prefix with a wildcard is refused with file:line:col") {
    const int port = testing::free_port();
    std::filesystem::create_directories(dir / "watched");
    const auto config = dir / "certwatch.yaml";
    const std::string text =
        agent_test::agent_config(port, {dir / "watched"}, pki.root.cert) +
        mqtt_test::mqtt_section(pki, "mqtts://127.0.0.1:8883", "certwatch/+/x");
    testing::write_file(config, text);
    // Where the prefix's value stands: 1-based line and column.
    const auto at = text.find("certwatch/+/x");
    const auto line =
        1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n');
    const auto column = at - text.rfind('\n', at);
    const std::string where =
        ":" + std::to_string(line) + ":" + std::to_string(column) + ": mqtt.topic_prefix: ";
    const auto r =
        testing::run({testing::certwatch_bin().string(), "agent", "-c", config.string()}, 30s);
    CHECK(r.exit_code == 3);
    CHECK(has(r.out + r.err, config.string() + where + "a topic prefix has no wildcards"));
    const auto check =
        testing::run({testing::certwatch_bin().string(), "config", "check", config.string()}, 30s);
    CHECK(check.exit_code == 3);
    CHECK(has(check.out + check.err, config.string() + where));
  }
}
