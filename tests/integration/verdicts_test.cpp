// Issue 13's false answers through the real binary: `check --fix-order` on a PKCS#7 set, and
// the agent's watch[].purpose reaching OpenSSL's trust settings and the end-entity rule.
#include <catch2/catch.hpp>

#include "agent_harness.h"
#include "support/fixtures.h"
#include "support/pki_fixture.h"

using namespace testing;
using namespace agent_test;

TEST_CASE("check --fix-order on a PKCS#7 set writes the ordered PEM and says order was not judged",
          "[integration][verdicts]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  auto root = f.root("root", CertOptions::of("P7 Root").with_days(3650));
  auto ca = f.ca("ca", root, CertOptions::of("P7 CA").with_days(1825));
  auto leaf = f.server("leaf", ca, CertOptions::of("p7.lab.local"));
  const fs::path p7 = f.to_p7b({root.cert, ca.cert, leaf.cert}, "windows-export.p7b", true);
  const fs::path out = tmp / "fixed.pem";
  auto r = run({certwatch_bin().string(), "check", "--ca-bundle", root.cert.string(), "--fix-order",
                out.string(), p7.string()});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("chain.leaf_not_first") == std::string::npos);
  CHECK(r.out.find("order not judged") != std::string::npos);
  REQUIRE(fs::exists(out));
  // Ordered PEM: leaf first, then the intermediate, no root; openssl and check agree.
  const auto certs = load_certs(out);
  REQUIRE(certs.size() == 2);
  CHECK(certs[0].subject_cn() == "p7.lab.local");
  CHECK(certs[1].subject_cn() == "P7 CA");
  CHECK(read_file(out).rfind("-----BEGIN CERTIFICATE-----", 0) == 0);
  CHECK(openssl_verifies(root.cert, out));
  auto again = run({certwatch_bin().string(), "check", "--json", "--ca-bundle", root.cert.string(), out.string()});
  CHECK(again.exit_code == 0);
  CHECK(again.out.find("\"order_judged\":true") != std::string::npos);
  auto json = run({certwatch_bin().string(), "check", "--json", "--ca-bundle", root.cert.string(), p7.string()});
  CHECK(json.out.find("\"order_judged\":false") != std::string::npos);
}

TEST_CASE("check with --purpose/--host on a CA-only file and TRUSTED CERTIFICATE anchors",
          "[integration][verdicts]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  auto root = f.root("root", CertOptions::of("TS Root").with_days(3650));
  auto ca = f.ca("ca", root, CertOptions::of("TS CA").with_days(1825), 1);
  auto leaf = f.server("leaf", ca, CertOptions::of("mqtt.lab.local"));
  auto fake = f.ca("fake", ca, CertOptions::of("mqtt.lab.local").with_extra("subjectAltName = DNS:mqtt.lab.local"));
  const fs::path chain = f.cat("chain.pem", {leaf.cert, ca.cert});
  const fs::path cas = f.cat("cas.pem", {fake.cert, ca.cert});
  const fs::path trusted = tmp / "trusted.pem";
  must_run({"openssl", "x509", "-in", root.cert.string(), "-addtrust", "serverAuth", "-trustout",
            "-out", trusted.string()});
  const auto check = [&](std::vector<std::string> extra, const fs::path& file) {
    std::vector<std::string> argv{certwatch_bin().string(), "check", "--ca-bundle", trusted.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(file.string());
    return run(argv);
  };
  auto ok = check({"--purpose", "server"}, chain);
  INFO(ok.out);
  CHECK(ok.exit_code == 0);
  CHECK(run({"openssl", "verify", "-purpose", "sslserver", "-CAfile", trusted.string(), "-untrusted",
             chain.string(), chain.string()}).exit_code == 0);
  auto no_purpose = check({}, chain);
  CHECK(no_purpose.exit_code == 2);
  CHECK(no_purpose.out.find("trust settings decided it") != std::string::npos);
  for (const auto& extra : {std::vector<std::string>{"--purpose", "server"},
                            std::vector<std::string>{"--host", "mqtt.lab.local"}}) {
    auto r = check(extra, cas);
    INFO(r.out);
    CHECK(r.exit_code == 2);
    CHECK(r.out.find("chain.no_end_entity") != std::string::npos);
  }
}

TEST_CASE("agent: watch[].purpose reaches verification and the end-entity rule", "[integration][verdicts]") {
  TempDir dir;
  PkiFixture f(dir / "pki");
  auto root = f.root("root", CertOptions::of("TS Root").with_days(3650));
  auto ca = f.ca("ca", root, CertOptions::of("TS CA").with_days(1825), 1);
  auto leaf = f.server("leaf", ca, CertOptions::of("mqtt.lab.local"));
  auto fake = f.ca("fake", ca, CertOptions::of("mqtt.lab.local").with_extra("subjectAltName = DNS:mqtt.lab.local"));
  fs::create_directories(dir / "certs");
  const fs::path chain = dir / "certs" / "server.chain.pem";
  const fs::path cas = dir / "certs" / "ca-only.pem";
  write_file(chain, read_file(leaf.cert) + read_file(ca.cert));
  write_file(cas, read_file(fake.cert) + read_file(ca.cert));
  const fs::path trusted = dir / "trusted.pem";
  must_run({"openssl", "x509", "-in", root.cert.string(), "-addtrust", "serverAuth", "-trustout",
            "-out", trusted.string()});
  const int port = free_port();
  write_file(dir / "certwatch.yaml",
             "agent:\n  rescan_interval: 10m\n  state_dir: " + (dir / "state").string() +
                 "\nhttp:\n  listen: \"127.0.0.1:" + std::to_string(port) + "\"\ntrust:\n  - " +
                 trusted.string() + "\nwatch:\n  - path: " + chain.string() +
                 "\n    purpose: server\n  - path: " + cas.string() + "\n    purpose: server\n");
  AgentProcess agent(dir.path(), dir / "certwatch.yaml", port);
  REQUIRE(agent.wait_ready());
  const std::string m = agent.metrics();
  INFO(m);
  CHECK(series(m, "certwatch_finding", {"target=\"" + chain.string() + "\"", "chain.verify_failed"}).empty());
  const auto valid = series(m, "certwatch_chain_valid", {"target=\"" + chain.string() + "\""});
  REQUIRE(valid.size() == 1);
  CHECK(value_of(valid[0]) == 1);
  CHECK(series(m, "certwatch_finding", {"target=\"" + cas.string() + "\"", "chain.no_end_entity", "critical"}).size() == 1);
}
