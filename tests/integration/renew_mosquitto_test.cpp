// Acceptance for automatic renewal against a real Mosquitto (issue #11, point 1): a managed
// server certificate of 60 s is bootstrapped by the agent before the broker starts, then
// renewed by the agent three times; each time mosquitto gets SIGHUP through its pid file, the
// broker serves the new serial (openssl s_client as the oracle), and mosquitto_pub with a
// client certificate still connects. The renewal metrics count every transaction.
#include <catch2/catch.hpp>

#include <csignal>

#include "integration/renew_harness.h"

using renew_test::RenewLab;
namespace fs = std::filesystem;

TEST_CASE("agent bootstraps a 60 s mosquitto certificate and renews it three times, served and usable",
          "[integration][renew][mosquitto]") {
  if (!testing::have_program("mosquitto") || !testing::have_program("mosquitto_pub")) FAIL("mosquitto is not installed");
  testing::TempDir tmp;
  RenewLab lab(tmp.path());
  // MQTT alerts on the same broker (issue #10): renewals are events there too.
  const auto config = lab.write_config(
      lab.config("60s", "50s", lab.signal_reload()) + "mqtt:\n  broker: \"mqtts://127.0.0.1:" +
      std::to_string(lab.broker_port) + "\"\n  topic_prefix: certwatch/lab\n  ca: " + (lab.pki / "ca-bundle.pem").string() +
      "\n  cert: " + (lab.client / "probe.cert.pem").string() + "\n  key: " + (lab.client / "probe.key.pem").string() +
      "\n");
  agent_test::AgentProcess agent(tmp.path(), config, lab.http_port);
  REQUIRE(agent.wait_ready());
  // Bootstrap: the files appear before the broker exists (no pid file: nothing to reload).
  REQUIRE(testing::eventually([&] { return renew_test::renewals(agent.metrics(), "success") >= 1; },
                              std::chrono::seconds(20)));
  const auto chain = lab.certs / "server.chain.pem";
  REQUIRE(fs::exists(lab.certs / "server.key.pem"));
  CHECK((testing::mode_of(lab.certs / "server.key.pem") & 0777) == 0600);
  auto broker = lab.start_broker();
  testing::Process events({"mosquitto_sub", "-h", "127.0.0.1", "-p", std::to_string(lab.broker_port), "--cafile",
                           (lab.pki / "ca-bundle.pem").string(), "--cert", (lab.client / "probe.cert.pem").string(),
                           "--key", (lab.client / "probe.key.pem").string(), "-t", "certwatch/lab/events", "-q", "1"},
                          tmp / "events.log");
  std::string previous = agent_test::openssl_serial(chain);
  CHECK(lab.served_serial() == previous);
  REQUIRE(lab.publish("bootstrap").exit_code == 0);

  for (int round = 1; round <= 3; ++round) {
    INFO("renewal " << round);
    REQUIRE(testing::eventually([&] { return renew_test::renewals(agent.metrics(), "success") >= 1 + round; },
                                std::chrono::seconds(40)));
    const auto serial = agent_test::openssl_serial(chain);
    CHECK(serial != previous);
    // The agent proved it by handshake before counting the success; the oracle agrees.
    CHECK(lab.served_serial() == serial);
    CHECK(lab.publish("round" + std::to_string(round)).exit_code == 0);
    CHECK(testing::read_file(tmp / "mosquitto.log").find("Reloading config") != std::string::npos);
    previous = serial;
  }
  const auto m = agent.metrics();
  CHECK(renew_test::renewals(m, "failure") == 0);
  CHECK(agent_test::series(m, "certwatch_renewal_next_timestamp_seconds", {"name=\"broker\""}).size() == 1);
  const auto last = agent_test::series(m, "certwatch_renewal_last_success_timestamp_seconds", {"name=\"broker\""});
  REQUIRE(last.size() == 1);
  CHECK(agent_test::value_of(last.front()) > 0);
  // The managed certificate is a target of its own with its expiry exported.
  CHECK(!agent_test::series(m, "certwatch_cert_not_after_timestamp_seconds",
                            {"source=\"ledger\"", "target=\"managed/broker\"", "role=\"leaf\""})
             .empty());
  CHECK(agent_test::series(m, "certwatch_finding", {"renewal."}).empty());
  // The schedule in the API.
  const auto api = agent_test::http_get(lab.http_port, "/api/v1/renewals");
  CHECK(api.status == 200);
  CHECK(api.body.find("\"name\":\"broker\"") != std::string::npos);
  CHECK(api.body.find("\"serial\":\"" + previous) != std::string::npos);
  CHECK(api.body.find("\"failures\":0") != std::string::npos);
  // Each renewal was an event on MQTT, with the serial now served.
  const auto renewed_events = [&] {
    const std::string log = testing::read_file(tmp / "events.log");
    int n = 0;
    for (auto pos = log.find("\"event\":\"renewed\""); pos != std::string::npos;
         pos = log.find("\"event\":\"renewed\"", pos + 1))
      ++n;
    return n;
  };
  CHECK(testing::eventually([&] { return renewed_events() >= 3; }, std::chrono::seconds(30)));
  const std::string log = testing::read_file(tmp / "events.log");
  INFO(log);
  CHECK(log.find("\"target\":\"managed/broker\"") != std::string::npos);
  CHECK(log.find("\"serial\":\"" + previous + "\"") != std::string::npos);
  CHECK(log.find("\"verified\":true") != std::string::npos);
  // Previous sets are kept under state_dir.
  CHECK(fs::exists(lab.state / "renew" / "broker" / "previous"));
  REQUIRE(agent.process().signal(SIGTERM));
  CHECK(agent.process().wait(std::chrono::seconds(10)) == 0);
}
