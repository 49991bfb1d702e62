#include <catch2/catch.hpp>

#include <ctime>
#include <map>

#include "pki/judge/judge_paths.h"
#include "support/fixtures.h"
#include "support/pki_fixture.h"

using namespace testing;

TEST_CASE("judge_paths pairs keys by stem, also across private/ and certs/", "[judge]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  auto s = make_seed001(f);
  // A mismatched pair beside it: server.crt with a key that is not its own.
  auto other = f.server("plain/server", s.server_ca, CertOptions::of("plain.test"));
  fs::rename(other.cert, tmp / "plain" / "server.crt");
  f.key("plain/server.key");
  fs::remove(other.key);
  fs::remove(tmp / "plain" / "server.cnf");
  fs::remove(tmp / "plain" / "server.csr");
  // A readable key without certificate.
  const fs::path lonely = f.key("lonely.key");
  fs::permissions(lonely, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);

  certwatch::pki::JudgeOptions o;
  o.trust = load_certs(s.bundle);
  o.now = static_cast<int64_t>(std::time(nullptr));
  o.threads = 2;
  const std::vector<fs::path> roots{tmp.path()};
  const auto reports = certwatch::pki::judge_paths(roots, o);
  std::map<std::string, const certwatch::pki::Report*> by_name;
  for (const auto& r : reports) by_name[fs::path(r.target).filename().string()] = &r;

  for (const char* name : {"mqtt-server.cert.pem", "mqtt-server.chain.pem"}) {
    INFO(name);
    REQUIRE(by_name.count(name) == 1);
    const certwatch::pki::Report& r = *by_name[name];
    REQUIRE(r.key.has_value());
    CHECK(r.key->path == s.leaf.key.string());
    CHECK_FALSE(has_finding(r, "key.mismatch"));
  }
  REQUIRE(by_name.count("server-ca.cert.pem") == 1);
  CHECK(by_name["server-ca.cert.pem"]->key->path == s.server_ca.key.string());
  CHECK_FALSE(has_finding(*by_name["server-ca.cert.pem"], "key.mismatch"));
  REQUIRE(by_name.count("server.crt") == 1);
  CHECK(has_finding(*by_name["server.crt"], "key.mismatch"));
  // Key files only report when they have findings.
  CHECK(by_name.count("mqtt-server.key.pem") == 0);
  REQUIRE(by_name.count("lonely.key") == 1);
  CHECK(has_finding(*by_name["lonely.key"], "key.permissions"));
  // The chain file is clean; the leaf-only cert file misses its intermediate.
  CHECK(by_name["mqtt-server.chain.pem"]->trusted);
  CHECK(has_finding(*by_name["mqtt-server.cert.pem"], "chain.incomplete"));
  // CA files are judged as bundles: no leaf findings for them.
  CHECK_FALSE(has_finding(*by_name["ca-bundle.pem"], "chain.leaf_not_first"));
  CHECK_FALSE(has_finding(*by_name["ca-bundle.pem"], "leaf.no_san"));
}
