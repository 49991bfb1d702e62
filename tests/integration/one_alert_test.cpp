// Issue #21 acceptance 1: one expired certificate that lives in a watched cert file and chain
// file, is managed (its renewal failing), is served by an endpoint and was recorded in the
// ledger pages once: exactly one retained MQTT alert about its expiry (beside one per problem
// of a place), and a real Prometheus loaded with the shipped rules fires one
// CertwatchCertificateExpired for it.
#include <catch2/catch.hpp>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>

#include "integration/agent_harness.h"
#include "integration/mqtt_alerts_harness.h"
#include "integration/pki_cli.h"
#include "support/fixtures.h"
#include "support/tls_servers.h"

namespace fs = std::filesystem;
using namespace agent_test;

namespace {


// The firing alerts named `name` in Prometheus, as the query API's JSON.
std::string firing_alerts(int prom_port, const std::string& name) {
  auto r = testing::run({"curl", "-sG", "--max-time", "5",
                         "http://127.0.0.1:" + std::to_string(prom_port) + "/api/v1/query", "--data-urlencode",
                         "query=ALERTS{alertname=\"" + name + "\",alertstate=\"firing\"}"},
                        std::chrono::seconds(10));
  return r.out;
}

int one_alert_count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (auto p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("one expired certificate in two files, managed, served and in the ledger pages once",
          "[integration][agent][mqtt][prometheus]") {
  REQUIRE(testing::have_program("faketime"));
  REQUIRE(testing::have_program("prometheus"));
  REQUIRE(testing::have_program("mosquitto"));
  testing::TempDir dir;
  const fs::path pki = dir / "pki", certs = dir / "certs";
  // A PKI from a month ago and a 10-day server certificate issued 20 days ago: expired.
  auto in_past = [&](const std::string& offset, std::vector<std::string> args) {
    args.insert(args.begin(), {"faketime", "-f", offset, testing::certwatch_bin().string()});
    auto r = testing::run(args, std::chrono::seconds(60), {}, {testing::asan_options_beside_preload()});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
  };
  in_past("-30d", {"pki", "init", "--dir", pki.string(), "--subject", "/CN=One Alert Root"});
  in_past("-30d", {"pki", "ca", "--dir", pki.string(), "--name", "server-ca", "--subject", "/CN=One Alert Server CA"});
  in_past("-20d", {"pki", "issue", "--dir", pki.string(), "--ca", "server-ca", "--profile", "server", "--name",
                   "broker", "--subject", "/CN=expired.lab.local", "--san", "DNS:expired.lab.local", "--san",
                   "IP:127.0.0.1", "--validity", "10d", "--out", certs.string()});
  const fs::path cert = certs / "broker.cert.pem", chain = certs / "broker.chain.pem", key = certs / "broker.key.pem";
  const std::string fingerprint = openssl_sha256(cert);
  // Issuance fails from now on: the CA's key is gone.
  fs::rename(pki / "server-ca" / "private" / "server-ca.key.pem", dir / "server-ca.key.pem.away");

  // The expired certificate served by an endpoint.
  testing::TlsServer server(dir.path(), testing::CertFiles{key, cert, "expired.lab.local"}, chain);

  mqtt_test::TlsPki mqtt_pki(dir / "mqtt-pki");
  mqtt_test::Broker broker(dir / "broker", mqtt_pki, false);
  const std::string prefix = "certwatch/one-alert";

  const int port = testing::free_port();
  std::string y = agent_config(port, {certs}, pki / "ca-bundle.pem");
  y += "endpoints:\n  - target: \"127.0.0.1:" + std::to_string(server.port) + "\"\n    interval: 3s\n"
       "    timeout: 2s\n    expect_file: " + chain.string() + "\n";
  y += "issuers:\n  - {name: server-ca, pki_dir: " + pki.string() + "}\n";
  y += "managed:\n  - name: broker\n    issuer: server-ca\n    subject: /CN=expired.lab.local\n"
       "    sans: [DNS:expired.lab.local, IP:127.0.0.1]\n    validity: 10d\n    cert: " + cert.string() +
       "\n    key: " + key.string() + "\n    chain: " + chain.string() + "\n    reload: {command: [\"true\"]}\n";
  y += mqtt_test::mqtt_section(mqtt_pki, broker.url(), prefix, "  hold: 0s\n");
  testing::write_file(dir / "certwatch.yaml", y);
  AgentProcess agent(dir.path(), dir / "certwatch.yaml", port);
  {
    const bool ready = agent.wait_ready();
    INFO(agent.log());
    REQUIRE(ready);
  }

  // Wait (bounded) until the certificate's expiry alert lists all its places and the managed
  // renewal has failed.
  std::map<std::string, std::string> retained;
  std::string expiry;
  const bool settled = testing::eventually(
      [&] {
        retained = mqtt_test::retained(mqtt_pki, broker.port(), prefix + "/alerts/#");
        expiry.clear();
        bool renewal_failed = false;
        for (const auto& [topic, payload] : retained) {
          if (mqtt_test::json_string(payload, "finding") == "cert.expired") expiry += payload + "\n";
          if (mqtt_test::json_string(payload, "finding") == "renewal.failed") renewal_failed = true;
        }
        return renewal_failed && mqtt_test::has(expiry, "\"source\":\"endpoint\"") &&
               mqtt_test::has(expiry, chain.string()) && mqtt_test::has(expiry, "managed/broker");
      },
      std::chrono::seconds(40));
  std::string all;
  for (const auto& [topic, payload] : retained) all += topic + " " + payload + "\n";
  INFO(all << "\n" << agent.log());
  REQUIRE(settled);
  // Exactly one retained alert about the certificate's expiry, naming it and its places.
  CHECK(one_alert_count(all, "\"finding\":\"cert.expired\"") == 1);
  CHECK(mqtt_test::has(expiry, "\"fingerprint_sha256\":\"" + fingerprint + "\""));
  CHECK(mqtt_test::has(expiry, "\"target\":\"" + cert.string() + "\""));
  CHECK(mqtt_test::has(expiry, "\"renewal\":{\"managed\":\"broker\""));
  // No other alert speaks of the certificate's own expiry; the others are the places' own.
  CHECK(one_alert_count(all, "\"finding\":\"cert.expires_soon\"") == 0);
  for (const auto& [topic, payload] : retained) {
    const std::string id = mqtt_test::json_string(payload, "finding");
    const bool own = id == "cert.expired" || id.rfind("chain.", 0) == 0 || id.rfind("endpoint.", 0) == 0 ||
                     id.rfind("renewal.", 0) == 0 || id.rfind("key.", 0) == 0 || id.rfind("leaf.", 0) == 0 ||
                     id.rfind("client.", 0) == 0;
    CHECK(own);
  }

  // A real Prometheus with the shipped rules: one CertwatchCertificateExpired for it.
  const auto prom = start_prometheus(
      dir.path(), port, {fs::path(CERTWATCH_SOURCE_DIR) / "exporters" / "prometheus" / "certwatch-rules.yml"});
  REQUIRE(testing::wait_for_port(prom.port, std::chrono::seconds(20)));
  std::string alerts;
  REQUIRE(testing::eventually(
      [&] {
        alerts = firing_alerts(prom.port, "CertwatchCertificateExpired");
        return mqtt_test::has(alerts, "\"alertstate\":\"firing\"");
      },
      std::chrono::seconds(40)));
  // A few more evaluations: still one.
  std::this_thread::sleep_for(std::chrono::seconds(4));
  alerts = firing_alerts(prom.port, "CertwatchCertificateExpired");
  INFO(alerts << "\n" << testing::read_file(dir / "prometheus.log"));
  CHECK(one_alert_count(alerts, "\"alertname\":\"CertwatchCertificateExpired\"") == 1);
  CHECK(mqtt_test::has(alerts, fingerprint));
}
