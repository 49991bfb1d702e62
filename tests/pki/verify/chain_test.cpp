#include "pki/verify/chain.h"

#include <catch2/catch.hpp>
#include <ctime>

#include "pki/judge/judge.h"
#include "support/fixtures.h"
#include "support/pki_fixture.h"

using namespace testing;

namespace {

struct Pki {
  explicit Pki(PkiFixture& f)
      : root(f.root("root", CertOptions::of("Chain Root").with_days(3650))),
        ca(f.ca("ca", root, CertOptions::of("Chain CA").with_days(1825), 0)),
        leaf(f.server("leaf", ca, CertOptions::of("leaf.test"))),
        bundle(f.cat("bundle.pem", {root.cert})) {}
  CertFiles root, ca, leaf;
  fs::path bundle;
};

certwatch::pki::JudgeOptions opts(const fs::path& bundle) {
  certwatch::pki::JudgeOptions o;
  o.trust = load_certs(bundle);
  o.now = static_cast<int64_t>(std::time(nullptr));
  return o;
}

// Judges the file and checks the verdict against openssl verify (acceptance 2).
certwatch::pki::Report judge(const fs::path& file, const certwatch::pki::JudgeOptions& o,
                             const fs::path& bundle) {
  certwatch::pki::Report r = certwatch::pki::judge_file(file, o);
  INFO(describe(r));
  CHECK(r.trusted == openssl_verifies(bundle, file, o.now));
  return r;
}

}  // namespace

TEST_CASE("verify_error_name gives OpenSSL's macro names", "[chain]") {
  CHECK(certwatch::pki::verify_error_name(X509_V_OK) == "X509_V_OK");
  CHECK(certwatch::pki::verify_error_name(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY) ==
        "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY");
  CHECK(certwatch::pki::verify_error_name(X509_V_ERR_CERT_HAS_EXPIRED) ==
        "X509_V_ERR_CERT_HAS_EXPIRED");
  CHECK(certwatch::pki::verify_error_name(99999) == "X509_V_ERR_99999");
}

TEST_CASE("a good chain: path, roles, order, trust", "[chain]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  Pki p(f);
  const auto o = opts(p.bundle);
  const auto r = judge(f.cat("good.pem", {p.leaf.cert, p.ca.cert}), o, p.bundle);
  CHECK(r.trusted);
  CHECK_FALSE(r.verify_error);
  REQUIRE(r.certs.size() == 2);
  CHECK(r.certs[0].role == certwatch::pki::CertRole::leaf);
  CHECK(r.certs[1].role == certwatch::pki::CertRole::intermediate);
  CHECK(r.fixed_order == std::vector<int>{0, 1});
  CHECK(r.fixable);
  for (const auto& fnd : r.findings) CHECK(fnd.id.rfind("chain.", 0) != 0);
}

TEST_CASE("chain.leaf_not_first and chain.order from the structure alone", "[chain]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  auto d = make_deep_chain(f);
  const auto o = opts(d.bundle);
  // No key given: the leaf is the end-entity certificate that issues nothing.
  auto r = judge(f.cat("a.pem", {d.int2.cert, d.leaf.cert, d.int1.cert}), o, d.bundle);
  CHECK(has_finding(r, "chain.leaf_not_first"));
  CHECK_FALSE(has_finding(r, "chain.order"));  // int2 before int1 is right; the leaf is the problem
  CHECK(r.fixed_order == std::vector<int>{1, 0, 2});
  CHECK(r.certs[1].role == certwatch::pki::CertRole::leaf);
  // openssl verify judges the first certificate (a CA) and is content.
  CHECK(r.trusted);

  r = judge(f.cat("b.pem", {d.leaf.cert, d.int1.cert, d.int2.cert}), o, d.bundle);
  CHECK_FALSE(has_finding(r, "chain.leaf_not_first"));
  REQUIRE(has_finding(r, "chain.order"));
  CHECK(find_finding(r, "chain.order")->message.find("deep Intermediate 1") != std::string::npos);
  CHECK(r.fixed_order == std::vector<int>{0, 2, 1});
  CHECK(r.trusted);  // what openssl verify says; the finding says why a device would not
}

TEST_CASE("chain.incomplete names the missing issuer, chain.untrusted for foreign roots",
          "[chain]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  Pki p(f);
  auto r = judge(f.cat("leaf-only.pem", {p.leaf.cert}), opts(p.bundle), p.bundle);
  REQUIRE(has_finding(r, "chain.incomplete"));
  CHECK(find_finding(r, "chain.incomplete")->message.find("CN=Chain CA") != std::string::npos);
  CHECK(r.verify_error == "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY");
  CHECK_FALSE(has_finding(r, "chain.verify_failed"));  // explained by chain.incomplete
  CHECK_FALSE(r.fixable);

  // A self-signed leaf that nobody trusts.
  auto self =
      f.root("self", CertOptions::of("self.test")
                         .with_ext("basicConstraints = CA:FALSE\nsubjectAltName = DNS:self.test\n"
                                   "subjectKeyIdentifier = hash\n"));
  r = judge(self.cert, opts(p.bundle), p.bundle);
  CHECK(has_finding(r, "chain.untrusted"));
  CHECK(r.verify_error == "X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT");
  CHECK_FALSE(has_finding(r, "chain.incomplete"));

  // Negative for both: the same files with the right anchors.
  r = judge(self.cert, opts(self.cert), self.cert);
  CHECK_FALSE(has_finding(r, "chain.untrusted"));
  CHECK(r.trusted);
}

TEST_CASE("a same-name CA with another key is not the issuer", "[chain]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  Pki p(f);
  auto impostor = f.ca("impostor", p.root, CertOptions::of("Chain CA").with_days(1825), 0);
  auto r = judge(f.cat("x.pem", {p.leaf.cert, impostor.cert}), opts(p.bundle), p.bundle);
  REQUIRE(has_finding(r, "chain.incomplete"));
  CHECK(find_finding(r, "chain.incomplete")->message.find("did not sign") != std::string::npos);
  CHECK(has_finding(r, "chain.extra"));
  CHECK_FALSE(r.trusted);
}

TEST_CASE("chain.ambiguous_issuer for a re-issued intermediate with the same key", "[chain]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  Pki p(f);
  auto again =
      f.ca("ca-again", p.root, CertOptions::of("Chain CA").with_days(1500).with_key(p.ca.key), 0);
  auto r = judge(f.cat("amb.pem", {p.leaf.cert, p.ca.cert, again.cert}), opts(p.bundle), p.bundle);
  REQUIRE(has_finding(r, "chain.ambiguous_issuer"));
  CHECK(find_finding(r, "chain.ambiguous_issuer")->message.find("2 certificates") !=
        std::string::npos);
  CHECK(has_finding(r, "chain.extra"));  // only one of them is on the path
  r = judge(f.cat("one.pem", {p.leaf.cert, p.ca.cert}), opts(p.bundle), p.bundle);
  CHECK_FALSE(has_finding(r, "chain.ambiguous_issuer"));
}

TEST_CASE("chain.too_large by count or bytes", "[chain]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  Pki p(f);
  const fs::path file = f.cat("full.pem", {p.leaf.cert, p.ca.cert, p.root.cert});
  auto o = opts(p.bundle);
  CHECK_FALSE(has_finding(judge(file, o, p.bundle), "chain.too_large"));
  o.max_chain_certs = 2;
  CHECK(has_finding(judge(file, o, p.bundle), "chain.too_large"));
  o.max_chain_certs = 4;
  o.max_chain_bytes = 600;
  CHECK(has_finding(judge(file, o, p.bundle), "chain.too_large"));
}

TEST_CASE("chain.verify_failed carries OpenSSL's error name", "[chain]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  Pki p(f);
  // An "intermediate" that is not a CA, yet signs the leaf.
  auto not_ca = f.ca("not-ca", p.root,
                     CertOptions::of("Not A CA")
                         .with_ext("basicConstraints = critical, CA:FALSE\n"
                                   "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n"),
                     std::nullopt);
  auto leaf = f.server("under-not-ca", not_ca, CertOptions::of("x.test"));
  auto r = judge(f.cat("bad.pem", {leaf.cert, not_ca.cert}), opts(p.bundle), p.bundle);
  REQUIRE(has_finding(r, "chain.verify_failed"));
  CHECK(find_finding(r, "chain.verify_failed")->message.find("X509_V_ERR_INVALID_CA") !=
        std::string::npos);
  CHECK(r.verify_error == "X509_V_ERR_INVALID_CA");
  CHECK_FALSE(has_finding(r, "chain.incomplete"));
  r = judge(f.cat("ok.pem", {p.leaf.cert, p.ca.cert}), opts(p.bundle), p.bundle);
  CHECK_FALSE(has_finding(r, "chain.verify_failed"));
}

TEST_CASE("a CA bundle file is not judged as a chain", "[chain]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  Pki p(f);
  auto other = f.root("other", CertOptions::of("Other Root").with_days(3650));
  const fs::path two_roots = f.cat("roots.pem", {p.root.cert, other.cert});
  auto r = judge(two_roots, opts(two_roots), two_roots);
  CHECK(r.trusted);
  for (const auto& fnd : r.findings) CHECK(fnd.id.rfind("chain.", 0) != 0);
  CHECK(r.certs[0].role == certwatch::pki::CertRole::root);
  CHECK(r.certs[1].role == certwatch::pki::CertRole::root);
  // An endpoint's chain is different: the first certificate is the leaf, whatever it is.
  auto o = opts(two_roots);
  o.expect_leaf = true;
  r = certwatch::pki::judge_file(two_roots, o);
  CHECK(has_finding(r, "chain.extra"));
  CHECK(has_finding(r, "leaf.is_ca"));
}

TEST_CASE("judge_chain and a shared TrustIndex agree with judge_file", "[chain]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  Pki p(f);
  auto o = opts(p.bundle);
  const fs::path file = f.cat("c.pem", {p.ca.cert, p.leaf.cert});
  const auto certs = load_certs(file);
  const auto a = certwatch::pki::judge_file(file, o);
  o.trust_index = certwatch::pki::make_trust_index(o.trust);
  certwatch::pki::VerifyCache cache;
  const auto b = certwatch::pki::judge_chain(file.string(), certs, std::nullopt, o, &cache);
  CHECK(a.findings == b.findings);
  CHECK(a.trusted == b.trusted);
  CHECK(a.fixed_order == b.fixed_order);
}

namespace {

// A copy of `cert_pem` whose signature has its last byte flipped: the same names and key, a
// signature no issuer made.
fs::path tampered(PkiFixture& f, const fs::path& cert_pem, const std::string& name) {
  std::vector<unsigned char> der = load_certs(cert_pem).at(0).der();
  REQUIRE(!der.empty());
  der.back() ^= 0x01;
  auto c = certwatch::pki::Certificate::from_der(der);
  REQUIRE(c);
  return f.write(name, c->pem());
}

// OpenSSL's verdict with its own internal_verify and with ours over the cache (cold, then warm)
// must be the same in every field.
void same_verdict_both_ways(const fs::path& file, const fs::path& bundle, int64_t now,
                            certwatch::pki::VerifyCache& cache) {
  const auto certs = load_certs(file);
  const auto trust = load_certs(bundle);
  const certwatch::pki::TrustIndex index(trust);
  for (const auto& target : certs) {
    const certwatch::pki::Verdict plain =
        certwatch::pki::openssl_verdict(target, certs, index, now);
    for (int pass = 0; pass < 2; ++pass) {
      INFO(file.filename().string() << " target " << target.subject_cn() << " pass " << pass);
      const certwatch::pki::Verdict cached =
          certwatch::pki::openssl_verdict(target, certs, index, now, &cache);
      CHECK(cached.ok == plain.ok);
      CHECK(cached.error == plain.error);
      CHECK(cached.error_name == plain.error_name);
      CHECK(cached.error_depth == plain.error_depth);
    }
  }
}

}  // namespace

TEST_CASE("the cached verifier gives OpenSSL's own verdict, error and depth", "[chain]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  auto d = make_deep_chain(f);
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  auto old_int =
      f.ca("old-int", d.root,
           CertOptions::of("Old Intermediate").with_days(30).with_not_before(now - 400 * 86400), 0);
  auto under_old =
      f.server("under-old", old_int,
               CertOptions::of("old.test").with_days(3650).with_not_before(now - 395 * 86400));
  auto no_sign =
      f.ca("no-sign", d.root,
           CertOptions::of("No CertSign CA")
               .with_ext("basicConstraints = critical, CA:TRUE\n"
                         "keyUsage = critical, digitalSignature\n"
                         "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n"),
           std::nullopt);
  auto under_no_sign = f.server("under-no-sign", no_sign, CertOptions::of("ns.test"));
  const std::vector<fs::path> files{
      f.cat("good.pem", {d.leaf.cert, d.int2.cert, d.int1.cert}),
      f.cat("with-root.pem", {d.leaf.cert, d.int2.cert, d.int1.cert, d.root.cert}),
      f.cat("reversed.pem", {d.int1.cert, d.int2.cert, d.leaf.cert}),
      f.cat("missing.pem", {d.leaf.cert, d.int1.cert}),
      f.cat("bad-int1.pem", {d.leaf.cert, d.int2.cert, tampered(f, d.int1.cert, "int1-bad.pem")}),
      f.cat("bad-int2.pem", {d.leaf.cert, tampered(f, d.int2.cert, "int2-bad.pem"), d.int1.cert}),
      f.cat("bad-leaf.pem", {tampered(f, d.leaf.cert, "leaf-bad.pem"), d.int2.cert, d.int1.cert}),
      f.cat("expired-int.pem", {under_old.cert, old_int.cert}),
      f.cat("no-certsign.pem", {under_no_sign.cert, no_sign.cert}),
      d.root.cert,
  };
  certwatch::pki::VerifyCache
      cache;  // shared across files, as `check` shares it across a directory
  for (const auto& file : files) {
    same_verdict_both_ways(file, d.bundle, now, cache);
    same_verdict_both_ways(file, file, now, cache);  // the file as its own anchors: partial paths
  }
}

TEST_CASE("a tampered intermediate in the middle of a chain fails under the cached verifier",
          "[chain]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  auto d = make_deep_chain(f);
  const auto o = opts(d.bundle);
  certwatch::pki::VerifyCache cache;
  // The good chain first, so the cache holds every pair of the genuine certificates.
  const fs::path good = f.cat("good.pem", {d.leaf.cert, d.int2.cert, d.int1.cert});
  auto certs = load_certs(good);
  const certwatch::pki::TrustIndex index(o.trust);
  CHECK(certwatch::pki::openssl_verdict(certs[0], certs, index, o.now, &cache).ok);

  const fs::path bad =
      f.cat("bad.pem", {d.leaf.cert, d.int2.cert, tampered(f, d.int1.cert, "int1-bad.pem")});
  certs = load_certs(bad);
  const certwatch::pki::Verdict v =
      certwatch::pki::openssl_verdict(certs[0], certs, index, o.now, &cache);
  CHECK_FALSE(v.ok);
  CHECK(v.error_name == "X509_V_ERR_CERT_SIGNATURE_FAILURE");
  CHECK(v.error_depth == 2);  // leaf 0, int2 1, int1 2, root 3

  certwatch::pki::Report r = certwatch::pki::judge_file(bad, o, std::nullopt, &cache);
  CHECK(r.trusted == openssl_verifies(d.bundle, bad, o.now));
  CHECK_FALSE(r.trusted);
  CHECK(r.verify_error == "X509_V_ERR_CERT_SIGNATURE_FAILURE");
  // And the genuine chain is still trusted with the same cache afterwards.
  r = certwatch::pki::judge_file(good, o, std::nullopt, &cache);
  CHECK(r.trusted);
  CHECK(r.trusted == openssl_verifies(d.bundle, good, o.now));
}

TEST_CASE("an expired intermediate fails under the cached verifier", "[chain]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  Pki p(f);
  const auto o = opts(p.bundle);
  auto old_int = f.ca(
      "old-int", p.root,
      CertOptions::of("Old Intermediate").with_days(30).with_not_before(o.now - 400 * 86400), 0);
  auto leaf =
      f.server("under-old", old_int,
               CertOptions::of("old.test").with_days(3650).with_not_before(o.now - 395 * 86400));
  const fs::path file = f.cat("expired-int.pem", {leaf.cert, old_int.cert});
  certwatch::pki::VerifyCache cache;
  const auto certs = load_certs(file);
  const certwatch::pki::TrustIndex index(o.trust);
  const certwatch::pki::Verdict v =
      certwatch::pki::openssl_verdict(certs[0], certs, index, o.now, &cache);
  CHECK_FALSE(v.ok);
  CHECK(v.error_name == "X509_V_ERR_CERT_HAS_EXPIRED");
  CHECK(v.error_depth == 1);
  // 390 days ago the intermediate and the leaf were valid, the root (made today) was not yet:
  // the walk from the top stops at it.
  const certwatch::pki::Verdict then =
      certwatch::pki::openssl_verdict(certs[0], certs, index, o.now - 390 * 86400, &cache);
  CHECK(then.error_name == "X509_V_ERR_CERT_NOT_YET_VALID");
  CHECK(then.error_depth == 2);
  const certwatch::pki::Report r = certwatch::pki::judge_file(file, o, std::nullopt, &cache);
  CHECK(r.trusted == openssl_verifies(p.bundle, file, o.now));
  CHECK(r.verify_error == "X509_V_ERR_CERT_HAS_EXPIRED");
}

TEST_CASE("the trust verdict takes its signatures from the VerifyCache", "[chain]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  auto d = make_deep_chain(f);
  const auto certs = load_certs(f.cat("good.pem", {d.leaf.cert, d.int2.cert, d.int1.cert}));
  const certwatch::pki::TrustIndex index(load_certs(d.bundle));
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  certwatch::pki::VerifyCache cache;
  REQUIRE(certwatch::pki::openssl_verdict(certs[0], certs, index, now, &cache).ok);
  // leaf by int2, int2 by int1, int1 by root; the root's self-signature is not checked.
  CHECK(cache.verifications() == 3);
  for (int i = 0; i < 3; ++i)
    REQUIRE(certwatch::pki::openssl_verdict(certs[0], certs, index, now, &cache).ok);
  CHECK(cache.verifications() == 3);
  // Judging the file: the graph asks the same pairs (plus the anchor's self-signature) and the
  // verdict asks nothing new.
  certwatch::pki::JudgeOptions o;
  o.trust = load_certs(d.bundle);
  o.now = now;
  const certwatch::pki::Report r =
      certwatch::pki::judge_chain("good.pem", certs, std::nullopt, o, &cache);
  CHECK(r.trusted);
  CHECK(cache.verifications() == 4);
}
