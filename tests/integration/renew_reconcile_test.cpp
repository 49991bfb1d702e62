// Reconcile (issue #22, item 2): a crash between writing the new set and the reload leaves the
// new serial on disk and the old one served. `certwatch renew` (not forced) and a restarted
// agent must find that out, reload and prove the deployed leaf served; a server that cannot be
// made to serve it is renewal.failed with the reason and certwatch_renewal_served 0 — never
// "deployed" while something else is served.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "integration/renew_harness.h"

namespace reconcile_test {

namespace fs = std::filesystem;
using renew_test::RenewLab;

// The lab's certificate issued and its broker started on it.
std::unique_ptr<testing::Process> bootstrap_broker(const RenewLab& lab) {
  REQUIRE(lab.renew(lab.write_config(lab.config("1h", "", lab.signal_reload()))).exit_code == 0);
  return lab.start_broker();
}

fs::path reload_marker(const RenewLab& lab) {
  return lab.dir / "reload-started";
}

// A reload that takes 3 s, as a config's flow map: the command writes its pid to
// reload_marker() (atomically), sleeps, then sends the broker SIGHUP.
std::string slow_reload(const RenewLab& lab) {
  const auto script = lab.dir / "slow-reload.sh", marker = reload_marker(lab);
  testing::write_file(script, "#!/bin/sh\necho $$ > " + marker.string() + ".tmp && mv " +
                                  marker.string() + ".tmp " + marker.string() +
                                  "\nsleep 3\nkill -HUP \"$(cat " + lab.pid_file.string() +
                                  ")\"\n");
  fs::permissions(script, fs::perms::owner_all);
  return "{command: [" + script.string() + "]}";
}

// `certwatch renew --force` on `config` (whose reload is slow_reload()) killed by SIGKILL
// while its reload command runs, the command killed with it (as a crash of the service's
// control group takes both): the new set is on disk, the server was never told. Returns the
// serial on disk.
std::string crash_during_reload(const RenewLab& lab, const fs::path& config) {
  const auto marker = reload_marker(lab);
  fs::remove(marker);
  testing::Process renew(
      {testing::certwatch_bin().string(), "renew", "-c", config.string(), "broker", "--force"},
      lab.dir / "renew-crashed.log");
  INFO(testing::read_file(lab.dir / "renew-crashed.log"));
  REQUIRE(testing::eventually([&] { return fs::exists(marker); }, std::chrono::seconds(60)));
  REQUIRE(renew.signal(SIGKILL));
  ::kill(std::stoi(testing::read_file(marker)), SIGKILL);
  REQUIRE(renew.wait(std::chrono::seconds(10)).has_value());
  const auto disk = agent_test::openssl_serial(lab.certs / "server.cert.pem");
  REQUIRE(disk != lab.served_serial());  // the state: new serial on disk, old one served
  REQUIRE(lab.live_set_problem().empty());
  return disk;
}

double served_gauge(agent_test::AgentProcess& agent) {
  const auto s =
      agent_test::series(agent.metrics(), "certwatch_renewal_served", {"name=\"broker\""});
  return s.empty() ? -1 : agent_test::value_of(s.front());
}

nlohmann::json broker_renewal(int http_port) {
  const auto api = nlohmann::json::parse(agent_test::http_get(http_port, "/api/v1/renewals").body);
  for (const auto& r : api["renewals"])
    if (r["name"] == "broker") return r;
  return {};
}

}  // namespace reconcile_test

TEST_CASE(
    "renew reconcile: after a crash during the reload, `certwatch renew` reloads the stale server "
    "and says so",
    "[integration][renew][reconcile][mosquitto]") {
  if (!testing::have_program("mosquitto")) FAIL("mosquitto is not installed");
  testing::TempDir tmp;
  renew_test::RenewLab lab(tmp.path());
  auto broker = reconcile_test::bootstrap_broker(lab);
  const auto config = lab.write_config(lab.config("1h", "", reconcile_test::slow_reload(lab)));
  const auto disk = reconcile_test::crash_during_reload(lab, config);

  auto r = lab.renew(config);  // not forced: nothing is due
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("not due") != std::string::npos);
  CHECK(r.out.find("served certificate was stale") != std::string::npos);
  CHECK(r.out.find("reloaded, now serves serial") != std::string::npos);
  CHECK(lab.served_serial() == disk);
  CHECK(agent_test::openssl_serial(lab.certs / "server.cert.pem") == disk);

  auto again = lab.renew(config);
  INFO(again.out << again.err);
  CHECK(again.exit_code == 0);
  CHECK(again.out.find("serves the deployed certificate") != std::string::npos);
  CHECK(again.out.find("stale") == std::string::npos);
}

TEST_CASE(
    "renew reconcile: after a crash during the reload, the restarted agent reloads within 30 s",
    "[integration][renew][reconcile][mosquitto]") {
  if (!testing::have_program("mosquitto")) FAIL("mosquitto is not installed");
  testing::TempDir tmp;
  renew_test::RenewLab lab(tmp.path());
  auto broker = reconcile_test::bootstrap_broker(lab);
  // No verify_endpoint: the endpoints: entry whose expect_file is the managed certificate is
  // what can be asked.
  auto text = lab.config("1h", "", reconcile_test::slow_reload(lab), false);
  text.insert(text.find("    client_cert:"),
              "    expect_file: " + (lab.certs / "server.cert.pem").string() + "\n");
  const auto config = lab.write_config(text);
  const auto disk = reconcile_test::crash_during_reload(lab, config);

  const auto start = std::chrono::steady_clock::now();
  agent_test::AgentProcess agent(tmp.path(), config, lab.http_port);
  REQUIRE(agent.wait_ready());
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      start + std::chrono::seconds(30) - std::chrono::steady_clock::now());
  const bool served =
      testing::eventually([&] { return reconcile_test::served_gauge(agent) == 1; }, left);
  INFO(agent.log());
  REQUIRE(served);
  std::printf(
      "renew reconcile: the restarted agent served the deployed leaf %.1f s after its start\n",
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  CHECK(lab.served_serial() == disk);
  const auto row = reconcile_test::broker_renewal(lab.http_port);
  CHECK(row["served"] == true);
  CHECK(agent_test::strip_zeros(row["serial"].get<std::string>()) == disk);
  CHECK(row["failures"] == 0);
  CHECK(agent.log().find("reloaded, now serves serial") != std::string::npos);
  CHECK(
      agent_test::series(agent.metrics(), "certwatch_finding", {"id=\"renewal.failed\""}).empty());
}

TEST_CASE(
    "renew reconcile: a server that a reload does not fix is renewal.failed with the reason, "
    "served 0",
    "[integration][renew][reconcile][mosquitto]") {
  if (!testing::have_program("mosquitto")) FAIL("mosquitto is not installed");
  testing::TempDir tmp;
  renew_test::RenewLab lab(tmp.path());
  auto broker = reconcile_test::bootstrap_broker(lab);
  // A new set deployed with a reload that does nothing and nothing to ask: the old leaf stays
  // served.
  REQUIRE(lab.renew(lab.write_config(lab.config("1h", "", "{command: [true]}", false)), {"--force"})
              .exit_code == 0);
  const auto disk = agent_test::openssl_serial(lab.certs / "server.cert.pem");
  const auto stale = lab.served_serial();
  REQUIRE(disk != stale);

  const auto config = lab.write_config(lab.config("1h", "", "{command: [true]}"));
  auto r = lab.renew(config);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("served certificate was stale") != std::string::npos);
  CHECK(r.err.find("reloaded, but") != std::string::npos);
  CHECK(r.err.find("127.0.0.1 still serves serial") != std::string::npos);
  CHECK(lab.served_serial() == stale);

  agent_test::AgentProcess agent(tmp.path(), config, lab.http_port);
  REQUIRE(agent.wait_ready());
  REQUIRE(testing::eventually([&] { return reconcile_test::served_gauge(agent) == 0; },
                              std::chrono::seconds(40)));
  const auto failed =
      agent_test::series(agent.metrics(), "certwatch_finding", {"id=\"renewal.failed\""});
  CHECK(failed.size() == 1);
  const auto row = reconcile_test::broker_renewal(lab.http_port);
  INFO(row.dump());
  CHECK(row["served"] == false);
  CHECK(row["failures"] == 1);
  CHECK(row["last_error"].get<std::string>().find("served certificate was stale") !=
        std::string::npos);
  CHECK(agent.log().find("served certificate was stale") != std::string::npos);
  CHECK(agent_test::http_get(lab.http_port, "/").body.find("(not served)") != std::string::npos);
}
