// Renewal under faults (issue #11): a crash at every fault point of the transaction leaves a
// whole set after the restart (point 2); a full disk leaves the live set untouched and the
// renewal succeeds once space returns (point 3); a reload that does not take effect ends in
// rollback and renewal.failed with the old certificate served (point 4). Fault points and the
// ENOSPC switch are compiled into test builds only (pki/deploy/fault_point.h).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>

#include "integration/renew_harness.h"
#include "pki/deploy/fault_point.h"

using renew_test::RenewLab;
namespace fs = std::filesystem;

TEST_CASE("renew: a crash at every fault point leaves key, certificate and chain whole after restart",
          "[integration][renew][faults]") {
  testing::TempDir tmp;
  RenewLab lab(tmp.path());
  // A reload that succeeds without a server, and no handshake check: the points after the
  // reload are reached without a broker.
  const auto config = lab.write_config(lab.config("1h", "", "{command: [true]}", false));
  REQUIRE(lab.renew(config).exit_code == 0);  // bootstrap
  REQUIRE(lab.live_set_problem().empty());
  const char* points[] = {"after_key_write", "after_cert_write", "after_chain_write", "before_reload", "after_reload"};
  constexpr int kTrials = 3;
  int crashes = 0, changed = 0;
  for (const auto* point : points) {
    for (int trial = 0; trial < kTrials; ++trial) {
      INFO(point << " trial " << trial);
      const auto before = agent_test::openssl_serial(lab.certs / "server.cert.pem");
      auto r = lab.renew(config, {"--force"}, {std::string("CERTWATCH_FAULT=") + point});
      REQUIRE(r.exit_code == certwatch::pki::kFaultExitCode);  // ended at the point, like a crash
      ++crashes;
      // The restart: recovery runs first; the certificate is not due, so nothing else happens.
      auto restart = lab.renew(config);
      INFO(restart.out << restart.err);
      REQUIRE(restart.exit_code == 0);
      CHECK(lab.live_set_problem().empty());
      CHECK_FALSE(fs::exists(lab.state / "renew" / "broker" / "intent"));
      // Every point lies after the new set was staged with its intent: the restart rolls
      // forward, so the set is the new one.
      if (agent_test::openssl_serial(lab.certs / "server.cert.pem") != before) ++changed;
    }
  }
  std::printf("renew fault points: %d crashes at %zu points, %d whole sets after restart (%d new)\n", crashes,
              std::size(points), crashes, changed);
  CHECK(crashes == kTrials * 5);
  CHECK(changed == crashes);
}

TEST_CASE("renew: a full disk leaves the live set untouched, raises renewal.failed, succeeds once space returns",
          "[integration][renew][faults]") {
  testing::TempDir tmp;
  RenewLab lab(tmp.path());
  // Bootstrap a 60 s certificate by the command line; the agent then finds it due in ~10 s.
  // A 2 s first retry (agent.renew_retry) instead of the default minute: the retry after the
  // space returns comes within seconds.
  auto text = lab.config("60s", "50s", "", false);
  text.insert(text.find("http:"), "  renew_retry: 2s\n");
  const auto config = lab.write_config(text);
  REQUIRE(lab.renew(config).exit_code == 0);
  const auto before = testing::read_file(lab.certs / "server.cert.pem");
  const auto key_before = testing::read_file(lab.certs / "server.key.pem");
  const auto full = tmp / "disk-full";
  testing::write_file(full, "");
  agent_test::AgentProcess agent(tmp.path(), config, lab.http_port, {"CERTWATCH_FAULT_ENOSPC=" + full.string()});
  REQUIRE(agent.wait_ready());
  REQUIRE(testing::eventually(
      [&] { return !agent_test::series(agent.metrics(), "certwatch_finding", {"id=\"renewal.failed\""}).empty(); },
      std::chrono::seconds(30)));
  CHECK(testing::read_file(lab.certs / "server.cert.pem") == before);
  CHECK(testing::read_file(lab.certs / "server.key.pem") == key_before);
  CHECK(agent.log().find("No space left on device") != std::string::npos);
  CHECK(renew_test::renewals(agent.metrics(), "failure") >= 1);
  fs::remove(full);  // space returns
  REQUIRE(testing::eventually([&] { return renew_test::renewals(agent.metrics(), "success") >= 1; },
                              std::chrono::seconds(30)));
  CHECK(testing::read_file(lab.certs / "server.cert.pem") != before);
  CHECK(lab.live_set_problem().empty());
  CHECK(testing::eventually(
      [&] { return agent_test::series(agent.metrics(), "certwatch_finding", {"id=\"renewal.failed\""}).empty(); },
      std::chrono::seconds(5)));
}

TEST_CASE("renew: a reload that does nothing ends in rollback and renewal.failed, the old certificate served again",
          "[integration][renew][faults][mosquitto]") {
  if (!testing::have_program("mosquitto")) FAIL("mosquitto is not installed");
  testing::TempDir tmp;
  RenewLab lab(tmp.path());
  REQUIRE(lab.renew(lab.write_config(lab.config("1h", "", lab.signal_reload()))).exit_code == 0);  // bootstrap
  auto broker = lab.start_broker();
  const auto served = lab.served_serial();
  REQUIRE(served == agent_test::openssl_serial(lab.certs / "server.cert.pem"));

  // The command line: `true` as the reload, the handshake still shows the old leaf.
  const auto config = lab.write_config(lab.config("1h", "59m50s", "{command: [true]}"));
  auto r = lab.renew(config, {"--force"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("does not serve the new certificate") != std::string::npos);
  CHECK(r.err.find("previous set restored") != std::string::npos);
  CHECK(agent_test::openssl_serial(lab.certs / "server.cert.pem") == served);
  CHECK(lab.live_set_problem().empty());
  // The ledger names the live certificate current; the discarded one (its key thrown away) is
  // revoked as superseded, so `pki revoke --name broker` would take the live one.
  {
    const auto rows = nlohmann::json::parse(
        pki_cli::ok({"pki", "list", "--dir", lab.pki.string(), "--ca", "server-ca", "--json"}).out);
    int valid = 0, withdrawn = 0;
    for (const auto& row : rows) {
      if (row["name"] != "broker") continue;
      if (row["status"] == "valid") {
        ++valid;
        CHECK(agent_test::strip_zeros(row["serial"].get<std::string>()) == agent_test::strip_zeros(served));
      } else if (row["status"] == "revoked" && row["revocation_reason"] == "superseded") {
        ++withdrawn;
      }
    }
    CHECK(valid == 1);
    CHECK(withdrawn == 1);
  }

  // The agent: due within seconds, fails the same way, renewal.failed on /metrics.
  agent_test::AgentProcess agent(tmp.path(), config, lab.http_port);
  REQUIRE(agent.wait_ready());
  REQUIRE(testing::eventually(
      [&] { return !agent_test::series(agent.metrics(), "certwatch_finding", {"id=\"renewal.failed\""}).empty(); },
      std::chrono::seconds(40)));
  CHECK(agent_test::openssl_serial(lab.certs / "server.cert.pem") == served);
  CHECK(lab.served_serial() == served);
  CHECK(lab.publish("after-rollback").exit_code == 0);
  CHECK(agent.log().find("previous set restored") != std::string::npos);
  const auto api = agent_test::http_get(lab.http_port, "/api/v1/renewals").body;
  CHECK(api.find("\"failures\":0") == std::string::npos);
  CHECK(api.find("previous set restored") != std::string::npos);
}

TEST_CASE("renew: a renewal-loop config is refused at load with a clear message", "[integration][renew][config]") {
  testing::TempDir tmp;
  RenewLab lab(tmp.path());
  const auto config = lab.write_config(lab.config("1h", "1h", "", false));
  auto r = pki_cli::certwatch({"config", "check", config.string()});
  CHECK(r.exit_code == 3);
  CHECK(r.err.find("renew_before: must be shorter than validity (1h), or renewal loops") != std::string::npos);
  // Nothing starts on it: the agent exits 3 and `renew` refuses the same way.
  CHECK(lab.renew(config).exit_code == 3);
  CHECK_FALSE(fs::exists(lab.certs / "server.cert.pem"));
}

TEST_CASE("renew: a crash between issuance and deploy leaves the live certificate current in the ledger after restart",
          "[integration][renew][faults][ledger]") {
  testing::TempDir tmp;
  RenewLab lab(tmp.path());
  const auto config = lab.write_config(lab.config("1h", "", "{command: [true]}", false));
  REQUIRE(lab.renew(config).exit_code == 0);  // bootstrap
  const auto live = renew_test::disk_serial(lab);
  REQUIRE(renew_test::valid_rows(lab) == std::vector<std::string>{live});
  // Twice: the second run first withdraws what the first one left, then leaves one of its own.
  for (int crash = 0; crash < 2; ++crash) {
    auto r = lab.renew(config, {"--force"}, {"CERTWATCH_FAULT=before_deploy"});
    REQUIRE(r.exit_code == certwatch::pki::kFaultExitCode);
  }
  REQUIRE(renew_test::disk_serial(lab) == live);
  const auto phantom = renew_test::valid_rows(lab);
  REQUIRE(phantom.size() == 1);
  CHECK(phantom.front() != live);
  // The restart (not due: nothing is issued) makes the live certificate current again; both
  // that never went live are revoked as superseded, so `pki revoke --name broker` takes the
  // live one.
  auto restart = lab.renew(config);
  INFO(restart.out << restart.err);
  REQUIRE(restart.exit_code == 0);
  CHECK(restart.out.find("current again in the ledger (1 issuance(s)") != std::string::npos);
  CHECK(renew_test::valid_rows(lab) == std::vector<std::string>{live});
  int withdrawn = 0;
  for (const auto& [serial, status] : renew_test::ledger(lab))
    if (serial != live && status == "revoked") ++withdrawn;
  CHECK(withdrawn == 2);
}
