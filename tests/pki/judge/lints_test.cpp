#include "pki/judge/lints.h"

#include <catch2/catch.hpp>
#include <ctime>
#include <set>

#include "pki/judge/judge.h"
#include "support/fixtures.h"
#include "support/pki_fixture.h"

using certwatch::pki::CertRole;
using namespace testing;

namespace {

struct Lab {
  explicit Lab(PkiFixture& f)
      : root(f.root("root", CertOptions::of("Lint Root").with_days(3650))),
        ca(f.ca("ca", root, CertOptions::of("Lint CA").with_days(1825), 0)),
        leaf(f.server("leaf", ca, CertOptions::of("leaf.test"))),
        f_(f) {}
  certwatch::pki::Certificate cert(const CertFiles& c) { return load_certs(c.cert)[0]; }
  certwatch::pki::Certificate leaf_with(const std::string& name, CertOptions o) {
    return cert(f_.server(name, ca, o));
  }
  CertFiles root, ca, leaf;
  PkiFixture& f_;
};

std::set<std::string> lint_ids(const certwatch::pki::Certificate& c, bool is_leaf,
                               const certwatch::pki::JudgeOptions& o,
                               const certwatch::pki::Certificate* issuer = nullptr, int below = 0) {
  certwatch::pki::LintContext ctx{
      c, is_leaf ? CertRole::leaf : CertRole::intermediate, is_leaf, issuer, below > 0, below, o};
  std::set<std::string> out;
  for (const auto& f : certwatch::pki::run_lints(ctx, "t")) out.insert(f.id);
  return out;
}

certwatch::pki::JudgeOptions now_opts() {
  certwatch::pki::JudgeOptions o;
  o.now = static_cast<int64_t>(std::time(nullptr));
  return o;
}

const std::string kLeafExt =
    "basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\n"
    "extendedKeyUsage = serverAuth\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n";

}  // namespace

TEST_CASE("every lint id is in the catalogue and every cert/leaf/ca id has a lint", "[lints]") {
  std::set<std::string> lints;
  for (const auto& l : certwatch::pki::all_lints()) {
    CHECK(certwatch::pki::find_kind(l.id) != nullptr);
    lints.insert(std::string(l.id));
  }
  for (const auto& k : certwatch::pki::catalogue()) {
    const std::string id(k.id);
    if (id.rfind("cert.", 0) == 0 || id.rfind("leaf.", 0) == 0 || id.rfind("ca.", 0) == 0) {
      INFO(id);
      CHECK(lints.count(id) == 1);
    }
  }
}

TEST_CASE("a clean leaf and CA raise no lint", "[lints]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  Lab lab(f);
  auto o = now_opts();
  o.host = "leaf.test";
  o.purpose = certwatch::pki::Purpose::server;
  const auto ca = lab.cert(lab.ca), root = lab.cert(lab.root);
  CHECK(lint_ids(lab.cert(lab.leaf), true, o, &ca).empty());
  CHECK(lint_ids(ca, false, o, &root, 0).empty());
}

TEST_CASE("expiry lints follow the clock and the lifetime-relative thresholds", "[lints]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  Lab lab(f);
  const auto leaf = lab.cert(lab.leaf);
  const auto v = leaf.validity();
  auto at = [&](int64_t now) {
    certwatch::pki::JudgeOptions o;
    o.now = now;
    certwatch::pki::LintContext ctx{leaf, CertRole::leaf, true, nullptr, false, 0, o};
    return certwatch::pki::run_lints(ctx, "t");
  };
  auto only = [](const std::vector<certwatch::pki::Finding>& fs, const char* id) {
    return fs.size() == 1 && fs[0].id == id;
  };
  CHECK(at(v.not_before + 86400).empty());
  CHECK(only(at(v.not_after + 1), "cert.expired"));
  CHECK(only(at(v.not_before - 3600), "cert.not_yet_valid"));
  auto warn = at(v.not_after - 20 * 86400);  // 20 days left of 365: under 30d
  REQUIRE(only(warn, "cert.expires_soon"));
  CHECK(warn[0].severity == certwatch::pki::Severity::warning);
  auto crit = at(v.not_after - 3 * 86400);
  REQUIRE(only(crit, "cert.expires_soon"));
  CHECK(crit[0].severity == certwatch::pki::Severity::critical);
  CHECK(at(v.not_after - 31 * 86400).empty());

  // A 24-hour certificate: warning under 8 hours, critical under 2.4 hours.
  const auto lim = certwatch::pki::expiry_limits(certwatch::pki::Validity{0, 86400},
                                                 certwatch::pki::Thresholds{});
  CHECK(lim.warning_seconds == 86400 / 3);
  CHECK(lim.critical_seconds == 8640);
  const auto lim10y = certwatch::pki::expiry_limits(certwatch::pki::Validity{0, 3650LL * 86400},
                                                    certwatch::pki::Thresholds{});
  CHECK(lim10y.warning_seconds == 30 * 86400);
  CHECK(lim10y.critical_seconds == 7 * 86400);
}

TEST_CASE("cert.* lints: positive and negative", "[lints]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  Lab lab(f);
  const auto o = now_opts();
  const auto ca = lab.cert(lab.ca);
  const auto good = lab.cert(lab.leaf);
  const auto clean = lint_ids(good, true, o, &ca);

  const auto weak = lab.leaf_with("weak", CertOptions::of("weak.test").with_alg(KeyAlg::rsa_1024));
  CHECK(lint_ids(weak, true, o, &ca).count("cert.weak_key") == 1);
  CHECK(clean.count("cert.weak_key") == 0);

  const auto sha1 = lab.leaf_with("sha1", CertOptions::of("sha1.test").with_digest("sha1"));
  CHECK(lint_ids(sha1, true, o, &ca).count("cert.weak_signature") == 1);
  CHECK(clean.count("cert.weak_signature") == 0);

  const auto long_lived = lab.leaf_with("long", CertOptions::of("long.test").with_days(4000));
  const auto long_ids = lint_ids(long_lived, true, o, &ca);
  CHECK(long_ids.count("cert.outlives_issuer") == 1);
  CHECK(long_ids.count("leaf.long_validity") == 1);
  CHECK(clean.count("cert.outlives_issuer") == 0);
  CHECK(clean.count("leaf.long_validity") == 0);

  const auto no_ids = lab.leaf_with(
      "noids", CertOptions::of("noids.test")
                   .with_ext("basicConstraints = CA:FALSE\nsubjectAltName = DNS:noids.test\n"
                             "subjectKeyIdentifier = none\nauthorityKeyIdentifier = none\n"));
  const auto no_ids_lints = lint_ids(no_ids, true, o, &ca);
  CHECK(no_ids_lints.count("cert.missing_ski") == 1);
  CHECK(no_ids_lints.count("cert.missing_aki") == 1);
  CHECK(clean.count("cert.missing_ski") == 0);
  CHECK(clean.count("cert.missing_aki") == 0);

  const auto v1 = lab.leaf_with("v1", CertOptions::of("v1.test").as_v1());
  const auto v1_ids = lint_ids(v1, true, o, &ca);
  CHECK(v1_ids.count("cert.v1") == 1);
  CHECK(v1_ids.count("cert.missing_ski") == 0);  // v1 is the finding; no v3 lints on it
  CHECK(clean.count("cert.v1") == 0);

  const auto small = lab.leaf_with("serial", CertOptions::of("serial.test").with_serial("0x01"));
  CHECK(lint_ids(small, true, o, &ca).count("cert.bad_serial") == 1);
  const auto zero = lab.leaf_with("zero", CertOptions::of("zero.test").with_serial("0"));
  CHECK(lint_ids(zero, true, o, &ca).count("cert.bad_serial") == 1);
  CHECK(clean.count("cert.bad_serial") == 0);
}

TEST_CASE("leaf.* lints: positive and negative", "[lints]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  Lab lab(f);
  const auto ca = lab.cert(lab.ca);
  const auto good = lab.cert(lab.leaf);
  auto o = now_opts();

  const auto no_san = lab.leaf_with("nosan", CertOptions::of("nosan.test").with_ext(kLeafExt));
  CHECK(lint_ids(no_san, true, o, &ca).count("leaf.no_san") == 1);
  CHECK(lint_ids(good, true, o, &ca).count("leaf.no_san") == 0);
  CHECK(lint_ids(no_san, false, o, &ca).count("leaf.no_san") == 0);  // leaf lints: leaves only
  // A client-only leaf may go without SANs (the seeds' device certificates do).
  const auto client_no_san = lab.leaf_with(
      "clientnosan",
      CertOptions::of("device-1")
          .with_ext("basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\n"
                    "extendedKeyUsage = clientAuth\n"));
  CHECK(lint_ids(client_no_san, true, o, &ca).count("leaf.no_san") == 0);

  const auto ip = lab.leaf_with(
      "ip",
      CertOptions::of("ip.test").with_ext(
          kLeafExt + "subjectAltName = DNS:ip.test, IP:127.0.0.1, DNS:10.0.0.1, DNS:IP.test\n"));
  o.host = "127.0.0.1";
  auto ids = lint_ids(ip, true, o, &ca);
  CHECK(ids.count("leaf.hostname_mismatch") == 0);
  CHECK(ids.count("leaf.ip_in_dns_san") == 1);
  CHECK(ids.count("leaf.duplicate_san") == 1);  // ip.test and IP.test: DNS is case-insensitive
  o.host = "10.0.0.1";                          // only as a DNS SAN: an IP must match an IP SAN
  CHECK(lint_ids(ip, true, o, &ca).count("leaf.hostname_mismatch") == 1);
  o.host = "leaf.test";
  ids = lint_ids(good, true, o, &ca);
  CHECK(ids.count("leaf.hostname_mismatch") == 0);
  CHECK(ids.count("leaf.ip_in_dns_san") == 0);
  CHECK(ids.count("leaf.duplicate_san") == 0);
  o.host = "other.test";
  CHECK(lint_ids(good, true, o, &ca).count("leaf.hostname_mismatch") == 1);
  o.host.reset();

  const auto client = lab.cert(f.client("client", lab.ca, CertOptions::of("client-1")));
  o.purpose = certwatch::pki::Purpose::server;
  CHECK(lint_ids(client, true, o, &ca).count("leaf.purpose_mismatch") == 1);
  CHECK(lint_ids(good, true, o, &ca).count("leaf.purpose_mismatch") == 0);
  o.purpose = certwatch::pki::Purpose::client;
  CHECK(lint_ids(client, true, o, &ca).count("leaf.purpose_mismatch") == 0);
  CHECK(lint_ids(good, true, o, &ca).count("leaf.purpose_mismatch") == 1);
  o.purpose = certwatch::pki::Purpose::any;

  const auto rsa_bad =
      lab.leaf_with("rsa-bad", CertOptions::of("rsa.test")
                                   .with_alg(KeyAlg::rsa_2048)
                                   .with_ext(kLeafExt + "subjectAltName = DNS:rsa.test\n"));
  const auto rsa_good = lab.leaf_with(
      "rsa-good",
      CertOptions::of("rsa.test").with_alg(KeyAlg::rsa_2048).with_key(f.dir() / "rsa-bad.key.pem"));
  CHECK(lint_ids(rsa_bad, true, o, &ca).count("leaf.rsa_no_key_encipherment") == 1);
  CHECK(lint_ids(rsa_good, true, o, &ca).count("leaf.rsa_no_key_encipherment") == 0);
  CHECK(lint_ids(good, true, o, &ca).count("leaf.rsa_no_key_encipherment") == 0);  // EC: ECDHE only

  CHECK(lint_ids(ca, true, o).count("leaf.is_ca") == 1);
  CHECK(lint_ids(good, true, o, &ca).count("leaf.is_ca") == 0);
}

TEST_CASE("ca.* lints: positive and negative", "[lints]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  Lab lab(f);
  const auto o = now_opts();
  const auto root = lab.cert(lab.root);
  const auto good = lab.cert(lab.ca);
  const auto clean = lint_ids(good, false, o, &root, 0);

  const auto soft =
      lab.cert(f.ca("soft", lab.root,
                    CertOptions::of("Soft CA").with_ext(
                        "basicConstraints = CA:TRUE, pathlen:0\nkeyUsage = critical, keyCertSign\n"
                        "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n")));
  CHECK(lint_ids(soft, false, o, &root).count("ca.basic_constraints_not_critical") == 1);
  CHECK(clean.count("ca.basic_constraints_not_critical") == 0);

  const auto nosign = lab.cert(
      f.ca("nosign", lab.root,
           CertOptions::of("No Sign CA")
               .with_ext("basicConstraints = critical, CA:TRUE, pathlen:0\nkeyUsage = critical, "
                         "digitalSignature\n"
                         "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n")));
  CHECK(lint_ids(nosign, false, o, &root).count("ca.no_key_cert_sign") == 1);
  CHECK(clean.count("ca.no_key_cert_sign") == 0);

  const auto nolen = lab.cert(f.ca("nolen", lab.root, CertOptions::of("No Len CA"), std::nullopt));
  CHECK(lint_ids(nolen, false, o, &root).count("ca.no_path_len") == 1);
  CHECK(clean.count("ca.no_path_len") == 0);
  CHECK(lint_ids(root, false, o).count("ca.no_path_len") == 0);  // roots may omit it

  // pathlen:0 with one CA below it on the path.
  CHECK(lint_ids(good, false, o, &root, 1).count("ca.path_len_exceeded") == 1);
  CHECK(lint_ids(nolen, false, o, &root, 3).count("ca.path_len_exceeded") == 0);
  CHECK(clean.count("ca.path_len_exceeded") == 0);
}

TEST_CASE("ca.path_len_exceeded through the judge explains OpenSSL's error 25", "[lints]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  auto root = f.root("root", CertOptions::of("PL Root").with_days(3650));
  auto int1 = f.ca("int1", root, CertOptions::of("PL Int 1").with_days(1825), 0);
  auto int2 = f.ca("int2", int1, CertOptions::of("PL Int 2").with_days(1000), 0);
  auto leaf = f.server("leaf", int2, CertOptions::of("pl.test"));
  const fs::path chain = f.cat("chain.pem", {leaf.cert, int2.cert, int1.cert});
  certwatch::pki::JudgeOptions o = now_opts();
  o.trust = load_certs(root.cert);
  const auto r = certwatch::pki::judge_file(chain, o);
  bool exceeded = false, failed = false;
  for (const auto& fnd : r.findings) {
    exceeded |= fnd.id == "ca.path_len_exceeded" && fnd.target == chain.string() + "#2";
    failed |= fnd.id == "chain.verify_failed";
  }
  CHECK(exceeded);
  CHECK_FALSE(failed);
  CHECK(r.verify_error == "X509_V_ERR_PATH_LENGTH_EXCEEDED");
  CHECK(r.trusted == openssl_verifies(root.cert, chain, o.now));
}
