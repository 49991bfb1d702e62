#include <catch2/catch.hpp>

#include <ctime>
#include <map>

#include "pki/verify/chain.h"
#include "pki/judge/judge.h"
#include "support/fixtures.h"
#include "support/pki_fixture.h"

using namespace testing;

namespace {

certwatch::pki::JudgeOptions options_for(const Scenario& sc, int64_t now) {
  certwatch::pki::JudgeOptions o;
  o.trust = load_certs(sc.bundle);
  o.now = now;
  o.host = sc.host;
  if (sc.purpose) o.purpose = *sc.purpose == "server" ? certwatch::pki::Purpose::server : certwatch::pki::Purpose::client;
  return o;
}

}  // namespace

TEST_CASE("every acceptance fixture gets its findings, exit code and openssl's verdict", "[judge]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  const auto scenarios = make_scenarios(f);
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  certwatch::pki::VerifyCache cache;
  for (const auto& sc : scenarios) {
    const auto opt = options_for(sc, now);
    const certwatch::pki::Report r = certwatch::pki::judge_file(sc.file, opt, sc.key, &cache);
    INFO(sc.name << "\n" << describe(r));
    for (const auto& id : sc.expect) CHECK(has_finding(r, id));
    for (const auto& id : sc.absent) CHECK_FALSE(has_finding(r, id));
    CHECK(certwatch::pki::nagios_exit_code(r.findings) == sc.exit_code);
    if (!r.certs.empty()) {
      // Acceptance 2: our trust verdict is openssl verify's.
      // With the scenario's purpose, as `openssl verify -purpose sslserver|sslclient`.
      const std::string purpose = !sc.purpose ? "" : *sc.purpose == "server" ? "sslserver" : "sslclient";
      CHECK(r.trusted == openssl_verifies(sc.bundle, sc.file, now, purpose));
      CHECK(r.trusted == !r.verify_error.has_value());
    }
    if (sc.fixable) CHECK(r.fixable);
  }
}

TEST_CASE("no key material reaches a report", "[judge]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  auto root = f.root("r", CertOptions::of("R").with_days(3650));
  auto leaf = f.server("l", root, CertOptions::of("l.test"));
  const fs::path combined = f.cat("combined.pem", {leaf.cert, leaf.key});
  certwatch::pki::JudgeOptions o;
  o.trust = load_certs(root.cert);
  o.now = static_cast<int64_t>(std::time(nullptr));
  const certwatch::pki::Report r = certwatch::pki::judge_file(combined, o);
  REQUIRE(r.key.has_value());
  CHECK(r.key->spki_sha256 == load_certs(leaf.cert)[0].spki_sha256_hex());
  CHECK_FALSE(has_finding(r, "key.mismatch"));
  const std::string key_pem = read_file(leaf.key);
  const std::string body = key_pem.substr(key_pem.find('\n') + 1, 40);
  for (const auto& fnd : r.findings) CHECK(fnd.message.find(body) == std::string::npos);
  for (const auto& n : r.notes) CHECK(n.find(body) == std::string::npos);
}

TEST_CASE("seed 002 shape: an encrypted RSA root key beside its certificate", "[judge]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  auto s = make_seed002(f);
  certwatch::pki::JudgeOptions o;
  o.trust = load_certs(s.root.cert);
  o.now = static_cast<int64_t>(std::time(nullptr));
  const std::vector<fs::path> roots{tmp / "ca"};
  std::map<std::string, certwatch::pki::Report> by_name;
  for (auto& r : certwatch::pki::judge_paths(roots, o)) by_name[fs::path(r.target).filename().string()] = std::move(r);
  REQUIRE(by_name.count("ca.key.pem") == 1);
  CHECK(has_finding(by_name["ca.key.pem"], "key.encrypted"));
  REQUIRE(by_name.count("ca.cert.pem") == 1);
  const certwatch::pki::Report& root = by_name["ca.cert.pem"];
  REQUIRE(root.key.has_value());
  CHECK(root.key->encrypted);
  CHECK_FALSE(has_finding(root, "key.mismatch"));
  CHECK(root.trusted);
  CHECK(root.certs[0].key_type == "RSA 2048");
  // The CAs verify against the root; each with its own (plain) key.
  for (const char* ca : {"server-ca.cert.pem", "engine-ca.cert.pem"}) {
    INFO(ca << "\n" << describe(by_name[ca]));
    CHECK(by_name[ca].trusted);
    CHECK(by_name[ca].findings.empty());
  }
  // The engine's client leaf: fine as a client, refused as a server.
  const fs::path engine_chain = f.cat("engine.chain.pem", {s.engine.cert, s.engine_ca.cert});
  o.purpose = certwatch::pki::Purpose::client;
  CHECK(certwatch::pki::judge_file(engine_chain, o, s.engine.key).findings.empty());
  o.purpose = certwatch::pki::Purpose::server;
  CHECK(has_finding(certwatch::pki::judge_file(engine_chain, o, s.engine.key), "leaf.purpose_mismatch"));
}

TEST_CASE("a CA certificate shared by many files is parsed once, leaves are not kept", "[judge]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  auto root = f.root("r", CertOptions::of("Parse Root").with_days(3650));
  auto ca = f.ca("i", root, CertOptions::of("Parse CA").with_days(1000), 0);
  auto a = f.server("a", ca, CertOptions::of("a.test"));
  auto b = f.server("b", ca, CertOptions::of("b.test"));
  const auto fa = load_certs(f.cat("a.pem", {a.cert, ca.cert}));
  const auto fb = load_certs(f.cat("b.pem", {b.cert, ca.cert}));
  REQUIRE(fa.size() == 2);
  REQUIRE(fb.size() == 2);
  CHECK(fa[1].native() == fb[1].native());  // one X509 object for the shared CA
  CHECK(fa[1].sha256() == fb[1].sha256());
  const auto fa_again = load_certs(f.cat("a2.pem", {a.cert}));
  CHECK(fa_again[0].native() != fa[0].native());  // leaves are parsed each time
  CHECK(fa_again[0].sha256() == fa[0].sha256());
  CHECK(fa[0].sha256_hex().size() == 64);
  // A tampered copy of the CA is a different certificate, not a cache hit.
  std::vector<unsigned char> der = fa[1].der();
  der.back() ^= 0x01;
  auto bad = certwatch::pki::Certificate::from_der(der);
  REQUIRE(bad);
  const auto fc = load_certs(f.write("bad-ca.pem", bad->pem()));
  CHECK(fc[0].native() != fa[1].native());
  CHECK(fc[0].sha256() != fa[1].sha256());
}
