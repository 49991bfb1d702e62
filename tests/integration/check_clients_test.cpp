// `certwatch check --clients` through the binary: issue 13's acceptance 3 on seed 001, the
// JSON shape, and the agent's certwatch_client_accepts series per target and family.
#include <catch2/catch.hpp>

#include <yaml-cpp/yaml.h>  // JSON is YAML: check_output_test reads --json the same way

#include "agent_harness.h"
#include "support/fixtures.h"
#include "support/pki_fixture.h"

using namespace testing;
using namespace agent_test;

namespace {

std::vector<std::string> rejecting(const YAML::Node& j) {
  std::vector<std::string> out;
  for (const auto& f : j["findings"]) {
    const auto id = f["id"].as<std::string>();
    if (id.rfind("client.", 0) == 0) out.push_back(id);
  }
  return out;
}

}  // namespace

TEST_CASE("check --clients on seed 001: the wrong order names mbedTLS, the good chain no family",
          "[integration][clients][acceptance]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  const Seed001 s = make_seed001(f);
  const fs::path wrong = f.cat("wrong-order.pem", {s.server_ca.cert, s.leaf.cert});
  const auto check = [&](const fs::path& file) {
    auto r = run({certwatch_bin().string(), "check", "--clients", "--json", "--host",
                  "mqtt.my-iot-cloud.com", "--ca-bundle", s.bundle.string(), file.string()});
    INFO(r.out << r.err);
    return YAML::Load(r.out);
  };
  const auto good = check(s.chain);
  INFO(YAML::Dump(good));
  CHECK(rejecting(good).empty());
  CHECK(good["exit_code"].as<int>() == 0);
  REQUIRE(good["files"][0]["clients"].size() == 4);
  for (const auto& v : good["files"][0]["clients"]) CHECK(v["accepts"].as<bool>());

  const auto bad = check(wrong);
  INFO(YAML::Dump(bad));
  const auto ids = rejecting(bad);
  CHECK(std::find(ids.begin(), ids.end(), "client.mbedtls.rejects") != ids.end());
  CHECK(bad["exit_code"].as<int>() == 2);
  bool mbedtls_named = false;
  for (const auto& v : bad["files"][0]["clients"])
    if (v["family"].as<std::string>() == "mbedtls")
      mbedtls_named = !v["accepts"].as<bool>() && !v["reason"].as<std::string>().empty();
  CHECK(mbedtls_named);

  // Human output: one line per file with every family's verdict.
  auto human = run({certwatch_bin().string(), "check", "--clients", "--ca-bundle", s.bundle.string(),
                    s.chain.string()});
  CHECK(human.out.find("openssl accepts, gnutls accepts, go accepts, mbedtls accepts") != std::string::npos);
}

TEST_CASE("agent: clients: per watch entry exports one series per target and family",
          "[integration][clients]") {
  TempDir dir;
  PkiFixture f(dir / "pki");
  auto root = f.root("root", CertOptions::of("Agent Clients Root").with_days(3650));
  auto int1 = f.ca("int1", root, CertOptions::of("Agent Int1").with_days(1825), 1);
  auto int2 = f.ca("int2", int1, CertOptions::of("Agent Int2").with_days(1825), 0);
  auto leaf = f.server("leaf", int2, CertOptions::of("mqtt.lab.local"));
  fs::create_directories(dir / "certs");
  const fs::path reversed = dir / "certs" / "reversed.pem";
  write_file(reversed, read_file(leaf.cert) + read_file(int1.cert) + read_file(int2.cert));
  const int port = free_port();
  write_file(dir / "certwatch.yaml",
             "agent:\n  rescan_interval: 10m\n  state_dir: " + (dir / "state").string() +
                 "\nhttp:\n  listen: \"127.0.0.1:" + std::to_string(port) + "\"\ntrust:\n  - " +
                 root.cert.string() + "\nwatch:\n  - path: " + (dir / "certs").string() +
                 "\n    host: mqtt.lab.local\n    clients: [openssl, gnutls, go, mbedtls]\n");
  AgentProcess agent(dir.path(), dir / "certwatch.yaml", port);
  REQUIRE(agent.wait_ready());
  const std::string m = agent.metrics();
  INFO(m);
  const auto s = series(m, "certwatch_client_accepts", {"target=\"" + reversed.string() + "\""});
  CHECK(s.size() == 4);
  for (const auto& line : s) CHECK(value_of(line) == (label_value(line, "family") == "mbedtls" ? 0 : 1));
  CHECK(series(m, "certwatch_finding", {"client.mbedtls.rejects"}).size() == 1);
  // The API carries the verdicts with their reasons.
  const auto api = YAML::Load(http_get(port, "/api/v1/certificates").body);
  bool seen = false;
  for (const auto& t : api["targets"]) {
    if (t["target"].as<std::string>() != reversed.string()) continue;
    REQUIRE(t["clients"].size() == 4);
    for (const auto& v : t["clients"]) {
      const bool mbedtls = v["family"].as<std::string>() == "mbedtls";
      CHECK(v["accepts"].as<bool>() == !mbedtls);
      if (mbedtls) CHECK(v["reason"].as<std::string>().find("after it") != std::string::npos);
    }
    seen = true;
  }
  CHECK(seen);
}
