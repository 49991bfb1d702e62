// Issue #4: the agent judges each watched file with exactly the findings of `certwatch check`
// (same code), with the trust, host and purpose of its watch entry. A seed-001-shaped tree
// with a wrong key across private/ and certs/, a 0644 loose key and a client certificate is
// judged by both, and the (target, id, severity) sets must be equal. Both name targets the
// same way (the file path; lints add "#<index>"), so no normalisation is needed.
#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <regex>
#include <set>
#include <string>
#include <tuple>

#include "agent_harness.h"
#include "support/fixtures.h"
#include "support/pki_fixture.h"

namespace {

namespace fs = std::filesystem;
using Triple = std::tuple<std::string, std::string, std::string>;  // target, id, severity

// Findings of `certwatch check --json DIR` (pki/judge/judge.cpp's write_json_fields spelling).
std::set<Triple> check_findings(const fs::path& dir, const fs::path& bundle) {
  auto r = testing::run({testing::certwatch_bin().string(), "check", "--json", "--ca-bundle",
                         bundle.string(), dir.string()});
  std::set<Triple> out;
  static const std::regex kFinding(
      R"re("id"\s*:\s*"([^"]+)"\s*,\s*"severity"\s*:\s*"([^"]+)"\s*,\s*"target"\s*:\s*"([^"]+)")re");
  for (std::sregex_iterator it(r.out.begin(), r.out.end(), kFinding), end; it != end; ++it)
    out.emplace((*it)[3].str(), (*it)[1].str(), (*it)[2].str());
  return out;
}

// Findings the agent exports: one certwatch_finding series per active finding.
std::set<Triple> agent_findings(const std::string& metrics) {
  std::set<Triple> out;
  // The target/index labels put back together as check prints them ("path#index").
  for (const auto& line : agent_test::series(metrics, "certwatch_finding")) {
    const std::string index = agent_test::label_value(line, "index");
    out.emplace(agent_test::label_value(line, "target") + (index.empty() ? "" : "#" + index),
                agent_test::label_value(line, "id"), agent_test::label_value(line, "severity"));
  }
  return out;
}

std::string dump(const std::set<Triple>& s) {
  std::string out;
  for (const auto& [t, i, sev] : s) out += "  " + t + " " + i + " " + sev + "\n";
  return out;
}

bool has_id(const std::set<Triple>& s, const std::string& target, const std::string& id) {
  for (const auto& [t, i, sev] : s)
    if (t == target && i == id) return true;
  return false;
}

}  // namespace

TEST_CASE("the agent reports exactly the findings of check, and sees a replaced key",
          "[integration][agent][parity]") {
  testing::TempDir tmp;
  const fs::path pki_dir = tmp / "pki";
  fs::create_directories(pki_dir);
  testing::PkiFixture f(pki_dir);
  testing::PkiFixture spare(tmp / "spare");  // keys made outside the watched tree
  const testing::Seed001 seed = testing::make_seed001(f);
  // A client certificate (no purpose in the watch entry: no leaf.purpose_mismatch).
  const auto client = f.client("client-1", seed.server_ca, testing::CertOptions::of("device-7"));
  fs::remove(client.key);
  // A loose key, readable by others (key.permissions), paired with nothing.
  const fs::path loose = f.key("loose.key.pem");
  fs::permissions(loose, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                             fs::perms::others_read, fs::perm_options::replace);
  // The server CA's key replaced by another one: a mismatch across private/ and certs/.
  const fs::path good_ca_key = tmp / "server-ca.key.good";
  fs::copy_file(seed.server_ca.key, good_ca_key);
  const fs::path other = spare.key("other.key");
  fs::rename(other, seed.server_ca.key);
  fs::permissions(seed.server_ca.key, fs::perms::owner_read | fs::perms::owner_write,
                  fs::perm_options::replace);
  for (const char* junk : {"x.cnf", "x.csr", "client-1.cnf", "client-1.csr"}) fs::remove(pki_dir / junk);

  const std::set<Triple> expected = check_findings(pki_dir, seed.bundle);
  INFO("check:\n" << dump(expected));
  REQUIRE(has_id(expected, seed.server_ca.cert.string(), "key.mismatch"));
  REQUIRE(has_id(expected, loose.string(), "key.permissions"));

  const int port = testing::free_port();
  const fs::path cfg = tmp / "certwatch.yaml";
  testing::write_file(cfg, agent_test::agent_config(port, {pki_dir}, seed.bundle));
  agent_test::AgentProcess agent(tmp.path(), cfg, port);
  REQUIRE(agent.wait_ready());
  std::set<Triple> seen;
  // The first scan is done at READY; the set must match at once (eventually only absorbs a
  // scrape racing the render cache).
  const bool same = testing::eventually(
      [&] {
        seen = agent_findings(agent.metrics());
        return seen == expected;
      },
      std::chrono::seconds(2));
  INFO("agent:\n" << dump(seen) << "log:\n" << agent.log());
  CHECK(same);
  CHECK_FALSE(has_id(seen, client.cert.string() + "#0", "leaf.purpose_mismatch"));

  // Only the leaf's key changes (write temp + rename, as the renewer does): the certificate
  // files it pairs with (certs/ and the chain file) are judged again.
  const fs::path leaf_key = seed.leaf.key;
  const fs::path good_leaf_key = tmp / "leaf.key.good";
  fs::copy_file(leaf_key, good_leaf_key);
  const fs::path wrong = spare.key("wrong-leaf.key");
  fs::permissions(wrong, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
  fs::rename(wrong, leaf_key);
  const auto leaf_mismatch = [&] {
    return agent_test::series(agent.metrics(), "certwatch_finding",
                              {"target=\"" + seed.leaf.cert.string() + "\"", "id=\"key.mismatch\""});
  };
  CHECK(testing::eventually([&] { return !leaf_mismatch().empty(); }, std::chrono::seconds(2)));
  // Same set as check on the same tree again.
  const std::set<Triple> expected_wrong = check_findings(pki_dir, seed.bundle);
  CHECK(has_id(expected_wrong, seed.leaf.cert.string(), "key.mismatch"));
  CHECK(testing::eventually([&] { return agent_findings(agent.metrics()) == expected_wrong; },
                            std::chrono::seconds(2)));

  // Restored: the finding clears.
  const fs::path tmp_key = pki_dir / "mqtt-server-1" / "private" / ".restore.tmp";
  fs::copy_file(good_leaf_key, tmp_key);
  fs::rename(tmp_key, leaf_key);
  CHECK(testing::eventually([&] { return leaf_mismatch().empty(); }, std::chrono::seconds(2)));
  CHECK(testing::eventually([&] { return agent_findings(agent.metrics()) == expected; },
                            std::chrono::seconds(2)));
  REQUIRE(agent.process().signal(SIGTERM));
  CHECK(agent.process().wait(std::chrono::seconds(10)) == std::optional<int>(0));
}
