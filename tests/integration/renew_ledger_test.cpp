// The ledger source (issue #11, point 6): certificates issued with `certwatch pki issue` (device
// client certificates that never live on this host) appear on /metrics with source="ledger";
// a revoked one and a superseded one (re-issued with --force) disappear at the next read of
// the ledger (SIGHUP here; every minute otherwise).
#include <catch2/catch.hpp>
#include <csignal>
#include <map>

#include "integration/agent_harness.h"
#include "integration/pki_cli.h"

namespace fs = std::filesystem;
using agent_test::series;

TEST_CASE("ledger source: issued device certificates on /metrics, revoked and superseded ones gone",
          "[integration][renew][ledger]") {
  testing::TempDir tmp;
  const auto pki = tmp / "pki", out = tmp / "devices";
  pki_cli::ok({"pki", "init", "--dir", pki.string(), "--subject", "/CN=Fleet Root"});
  std::map<std::string, std::string> serial;
  for (const auto* dev : {"meter-1", "meter-2", "gateway-1"}) {
    pki_cli::ok({"pki", "issue", "--dir", pki.string(), "--ca", "root-ca", "--profile", "client",
                 "--name", dev, "--subject", std::string("/CN=") + dev, "--validity", "30d",
                 "--out", out.string()});
    serial[dev] = agent_test::openssl_serial(out / (std::string(dev) + ".cert.pem"));
  }
  fs::create_directories(tmp / "watched");
  const int port = testing::free_port();
  const auto config = tmp / "certwatch.yaml";
  testing::write_file(config, agent_test::agent_config(port, {tmp / "watched"}, std::nullopt) +
                                  "issuers:\n  - {name: fleet, pki_dir: " + pki.string() +
                                  ", ca: root-ca}\n");
  agent_test::AgentProcess agent(tmp.path(), config, port);
  REQUIRE(agent.wait_ready());
  auto expiry = [&](const std::string& dev, const std::string& s) {
    return series(agent.metrics(), "certwatch_cert_not_after_timestamp_seconds",
                  {"source=\"ledger\"", "target=\"root-ca/" + dev + "/", "serial=\"" + s + "\""});
  };
  REQUIRE(testing::eventually([&] { return expiry("meter-1", serial["meter-1"]).size() == 1; },
                              std::chrono::seconds(10)));
  for (const auto& [dev, s] : serial) {
    INFO(dev);
    const auto lines = expiry(dev, s);
    REQUIRE(lines.size() == 1);
    CHECK(static_cast<int64_t>(agent_test::value_of(lines.front())) ==
          agent_test::openssl_enddate(out / (dev + ".cert.pem")));
    CHECK(agent_test::label_value(lines.front(), "subject_cn") == dev);
  }
  // The root CA is not a device certificate.
  CHECK(series(agent.metrics(), "certwatch_cert_not_after_timestamp_seconds",
               {"source=\"ledger\"", "target=\"root-ca/root-ca/"})
            .empty());

  pki_cli::ok(
      {"pki", "revoke", "--dir", pki.string(), "--name", "meter-1", "--reason", "keyCompromise"});
  pki_cli::ok({"pki", "issue", "--dir", pki.string(), "--ca", "root-ca", "--profile", "client",
               "--name", "meter-2", "--subject", "/CN=meter-2", "--validity", "30d", "--out",
               out.string(), "--force"});
  const auto renewed = agent_test::openssl_serial(out / "meter-2.cert.pem");
  REQUIRE(renewed != serial["meter-2"]);
  REQUIRE(agent.process().signal(SIGHUP));
  REQUIRE(testing::eventually([&] { return expiry("meter-2", renewed).size() == 1; },
                              std::chrono::seconds(10)));
  CHECK(expiry("meter-1", serial["meter-1"]).empty());  // revoked
  CHECK(expiry("meter-2", serial["meter-2"]).empty());  // superseded
  CHECK(expiry("gateway-1", serial["gateway-1"]).size() == 1);
}
