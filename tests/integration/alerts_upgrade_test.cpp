// Issue #21 acceptance 4: an agent of 7fba276 (before alerts were one per certificate) publishes
// its retained alerts; this agent, started in its place on the same state directory and topic
// prefix, leaves no stale duplicate behind: the old per-file expiry alerts are emptied, the one
// per-certificate alert replaces them, and the alerts about a place keep their topics.
// The old agent is built from this checkout's history by scripts/build_old_agent.sh (scripts/
// test.sh builds it in the background beforehand; run alone, this test builds it, which takes
// minutes).
#include <catch2/catch.hpp>
#include <csignal>
#include <filesystem>
#include <set>
#include <string>

#include "integration/agent_harness.h"
#include "integration/mqtt_alerts_harness.h"
#include "support/fixtures.h"

namespace fs = std::filesystem;
using namespace agent_test;

namespace {

constexpr const char* kOldRevision = "7fba276";

fs::path build_old_agent() {
  const fs::path build_dir = testing::certwatch_bin().parent_path().parent_path();
  const auto r = testing::run({"bash", (fs::path(CERTWATCH_SOURCE_DIR) / "scripts" / "build_old_agent.sh").string(),
                               kOldRevision, (build_dir / "old-agent" / kOldRevision).string()},
                              std::chrono::minutes(25));
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  std::string path = r.out;
  while (!path.empty() && (path.back() == '\n' || path.back() == '\r')) path.pop_back();
  return path.substr(path.rfind('\n') + 1);
}

// The retained alerts under the prefix whose finding is `id`: topic -> payload.
std::map<std::string, std::string> retained_with(const std::map<std::string, std::string>& retained,
                                               const std::string& id) {
  std::map<std::string, std::string> out;
  for (const auto& [topic, payload] : retained)
    if (mqtt_test::json_string(payload, "finding") == id) out.emplace(topic, payload);
  return out;
}

void issue_in_past(const std::string& offset, std::vector<std::string> args) {
  args.insert(args.begin(), {"faketime", "-f", offset, testing::certwatch_bin().string()});
  auto r = testing::run(args, std::chrono::seconds(60), {}, {testing::asan_options_beside_preload()});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
}

}  // namespace

TEST_CASE("upgrade: the retained alerts of an agent of 7fba276 leave no stale duplicate behind",
          "[integration][agent][mqtt][upgrade]") {
  REQUIRE(testing::have_program("faketime"));
  REQUIRE(testing::have_program("git"));
  const fs::path old_bin = build_old_agent();
  testing::TempDir dir;
  const fs::path pki = dir / "pki", certs = dir / "certs";
  issue_in_past("-30d", {"pki", "init", "--dir", pki.string(), "--subject", "/CN=Upgrade Root"});
  issue_in_past("-30d", {"pki", "ca", "--dir", pki.string(), "--name", "server-ca", "--subject", "/CN=Upgrade Server CA"});
  issue_in_past("-20d", {"pki", "issue", "--dir", pki.string(), "--ca", "server-ca", "--profile", "server", "--name",
                   "broker", "--subject", "/CN=upgrade.lab.local", "--san", "DNS:upgrade.lab.local", "--validity",
                   "10d", "--out", certs.string()});

  mqtt_test::TlsPki mqtt_pki(dir / "mqtt-pki");
  mqtt_test::Broker broker(dir / "broker", mqtt_pki, true);
  const std::string prefix = "certwatch/upgrade";
  const int port = testing::free_port();
  testing::write_file(dir / "certwatch.yaml", agent_config(port, {certs}, pki / "ca-bundle.pem") +
                                                  mqtt_test::mqtt_section(mqtt_pki, broker.url(), prefix,
                                                                          "  hold: 0s\n"));
  const std::string filter = prefix + "/alerts/#";

  // 1. The old agent: one retained cert.expired per file that holds the certificate.
  std::map<std::string, std::string> before;
  {
    auto proc = std::make_unique<testing::Process>(
        std::vector<std::string>{old_bin.string(), "agent", "-c", (dir / "certwatch.yaml").string()},
        dir / "old-agent.log");
    const bool published = testing::eventually(
        [&] {
          before = mqtt_test::retained(mqtt_pki, broker.port(), filter);
          return retained_with(before, "cert.expired").size() == 2;
        },
        std::chrono::seconds(40));
    INFO(testing::read_file(dir / "old-agent.log"));
    REQUIRE(published);
    proc->signal(SIGTERM);
    REQUIRE(proc->wait(std::chrono::seconds(20)).has_value());
  }
  const auto old_expired = retained_with(before, "cert.expired");
  for (const auto& [topic, payload] : old_expired)
    CHECK(mqtt_test::json_string(payload, "fingerprint_sha256").empty());  // the old payload

  // 2. This agent in its place: one cert.expired for the certificate, the old ones emptied.
  AgentProcess agent(dir.path(), dir / "certwatch.yaml", port);
  REQUIRE(agent.wait_ready());
  std::map<std::string, std::string> after;
  const bool upgraded = testing::eventually(
      [&] {
        after = mqtt_test::retained(mqtt_pki, broker.port(), filter);
        const auto expired = retained_with(after, "cert.expired");
        if (expired.size() != 1) return false;
        for (const auto& [topic, payload] : old_expired)
          if (after.count(topic) != 0) return false;
        return true;
      },
      std::chrono::seconds(40));
  std::string seen;
  for (const auto& [topic, payload] : after) seen += topic + " " + payload + "\n";
  INFO("before:\n" << [&] {
    std::string s;
    for (const auto& [topic, payload] : before) s += topic + " " + payload + "\n";
    return s;
  }() << "after:\n" << seen << agent.log());
  REQUIRE(upgraded);
  const auto expired = retained_with(after, "cert.expired");
  CHECK_FALSE(mqtt_test::json_string(expired.begin()->second, "fingerprint_sha256").empty());
  // What stays a place's alert keeps its topic: nothing under the prefix but those and the one
  // certificate alert.
  for (const auto& [topic, payload] : before)
    if (mqtt_test::json_string(payload, "finding") != "cert.expired") CHECK(after.count(topic) == 1);
  CHECK(after.size() == before.size() - old_expired.size() + 1);
}
