// The two chain shapes of issue 23 that certwatch judged against OpenSSL's own path: a root
// cross-signed by an older root (Let's Encrypt 2021-2024) and a CA key-rollover link
// certificate. OpenSSL builds paths trusted first and ends at the first trusted issuer; the
// judge must take that path, so the served copy above the anchor is only chain.extra.
#include <catch2/catch.hpp>
#include <ctime>

#include "pki/judge/judge.h"
#include "pki/verify/clients.h"
#include "support/fixtures.h"
#include "support/pki_fixture.h"

using namespace testing;

namespace {

// The judgement of `served` against `bundle`, whose trust verdict must be openssl verify's.
certwatch::pki::Report judged_like_openssl(const fs::path& served, const fs::path& bundle) {
  certwatch::pki::JudgeOptions o;
  o.trust = load_certs(bundle);
  o.now = static_cast<int64_t>(std::time(nullptr));
  auto r = certwatch::pki::judge_file(served, o);
  UNSCOPED_INFO(describe(r));
  CHECK(r.trusted == openssl_verifies(bundle, served));
  return r;
}

// The findings that say a client cannot build or trust the path.
bool path_refused(const certwatch::pki::Report& r) {
  for (const auto& f : r.findings)
    if (f.severity == certwatch::pki::Severity::critical) return true;
  return false;
}

// A CA hierarchy changing roots: the old root, the new root, the new root's key certified by
// the old one (a cross-sign when the names differ, a NewWithOld link certificate when they are
// the same), an intermediate under the new key and a leaf; served: leaf, intermediate, then
// the new key's certificate from the old root.
struct RootSuccession {
  CertFiles old_root, new_root, bridge, inter, leaf;
  fs::path served;
};

RootSuccession make_succession(PkiFixture& f, const std::string& old_cn, const std::string& new_cn,
                               int bridge_days) {
  RootSuccession r;
  r.old_root = f.root("old", CertOptions::of(old_cn).with_days(3650));
  r.new_root = f.root("new", CertOptions::of(new_cn).with_days(3650));
  r.bridge =
      f.ca("bridge", r.old_root,
           CertOptions::of(new_cn).with_days(bridge_days).with_key(r.new_root.key), std::nullopt);
  r.inter = f.ca("int", r.new_root, CertOptions::of(new_cn + " Issuing CA").with_days(1000), 0);
  r.leaf = f.server("leaf", r.inter, CertOptions::of("paths.test").with_days(90));
  r.served = f.cat("served.pem", {r.leaf.cert, r.inter.cert, r.bridge.cert});
  return r;
}

}  // namespace

TEST_CASE("a root cross-signed by an old root, served above the trusted new root",
          "[chain][paths]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  // ISRG Root X1 / DST Root CA X3: the new root self-signed in the bundle, its cross-signed
  // copy (same name, same key, issued by the old root) served after the intermediate. The
  // copy expires before the intermediate, as the 2021 cross-sign did.
  const RootSuccession h = make_succession(f, "Old Root X3", "New Root X1", 200);
  const fs::path& served = h.served;
  const fs::path bundle = f.cat("bundle.pem", {h.new_root.cert});

  auto r = judged_like_openssl(served, bundle);
  CHECK(r.trusted);
  CHECK_FALSE(has_finding(r, "chain.incomplete"));
  CHECK_FALSE(has_finding(r, "chain.untrusted"));
  CHECK_FALSE(has_finding(r, "cert.outlives_issuer"));  // checked against the anchor, not the copy
  CHECK_FALSE(path_refused(r));
  REQUIRE(has_finding(r, "chain.extra"));
  CHECK(find_finding(r, "chain.extra")->target == served.string() + "#2");
  CHECK(find_finding(r, "chain.extra")->message.find("cross-sign") != std::string::npos);
  CHECK(r.fixed_order == std::vector<int>{0, 1});
  {
    // Each client family ends the path at the anchor too (clients_test.cpp proves it against
    // the real clients).
    certwatch::pki::JudgeOptions o;
    o.trust = load_certs(bundle);
    o.now = static_cast<int64_t>(std::time(nullptr));
    for (auto family : certwatch::pki::client_families()) o.clients.emplace_back(family);
    const auto predicted = certwatch::pki::judge_file(served, o);
    REQUIRE(predicted.clients.size() == 4);
    for (const auto& v : predicted.clients) {
      INFO(v.family << ": " << v.reason);
      CHECK(v.accepts);
    }
  }

  // Clients that trust only the old root still reach it through the copy.
  const fs::path old_bundle = f.cat("old-bundle.pem", {h.old_root.cert});
  r = judged_like_openssl(served, old_bundle);
  CHECK(r.trusted);
  CHECK_FALSE(has_finding(r, "chain.extra"));
  CHECK(has_finding(r, "cert.outlives_issuer"));  // the intermediate outlives the copy

  // Neither root trusted: the path goes through the copy to the absent old root.
  const fs::path other = f.cat("other.pem", {f.root("x", CertOptions::of("Other")).cert});
  r = judged_like_openssl(served, other);
  CHECK_FALSE(r.trusted);
  REQUIRE(has_finding(r, "chain.incomplete"));
  CHECK(find_finding(r, "chain.incomplete")->message.find("Old Root X3") != std::string::npos);
}

TEST_CASE("a key-rollover link certificate is not a root", "[chain][paths]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  // One CA name, two keys: the old self-signed root, the new one, and the link certificate
  // that certifies the new key with the old (RFC 4210 NewWithOld: self-issued, not
  // self-signed). The intermediate is signed by the new key.
  const RootSuccession h = make_succession(f, "Rollover Root", "Rollover Root", 3000);
  const fs::path& served = h.served;

  // The new root as anchor: OpenSSL ends at it; the link is an extra, not an untrusted root.
  const fs::path new_bundle = f.cat("new-bundle.pem", {h.new_root.cert});
  auto r = judged_like_openssl(served, new_bundle);
  CHECK(r.trusted);
  CHECK_FALSE(has_finding(r, "chain.untrusted"));
  CHECK_FALSE(has_finding(r, "chain.incomplete"));
  CHECK_FALSE(path_refused(r));
  CHECK(has_finding(r, "chain.extra"));

  // The old root as anchor: the path runs through the link certificate to it.
  const fs::path old_bundle = f.cat("old-bundle.pem", {h.old_root.cert});
  r = judged_like_openssl(served, old_bundle);
  CHECK(r.trusted);
  CHECK_FALSE(path_refused(r));
  CHECK_FALSE(has_finding(r, "chain.extra"));
  CHECK(r.certs[2].role == certwatch::pki::CertRole::intermediate);  // self-issued, not a root

  // Both anchors in the bundle: still the first trusted issuer, still no finding.
  const fs::path both = f.cat("both.pem", {h.old_root.cert, h.new_root.cert});
  r = judged_like_openssl(served, both);
  CHECK_FALSE(path_refused(r));
}

TEST_CASE("OpenSSL takes the first same-name CA when the leaf has no AKI, and says which signed",
          "[chain][paths]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  auto root = f.root("root", CertOptions::of("Twin Root").with_days(3650));
  auto genuine = f.ca("genuine", root, CertOptions::of("Twin CA").with_days(1000), 0);
  auto rekeyed = f.ca("rekeyed", root, CertOptions::of("Twin CA").with_days(1000), 0);
  auto leaf =
      f.server("leaf", genuine,
               CertOptions::of("twin.test")
                   .with_ext("basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\n"
                             "extendedKeyUsage = serverAuth\nsubjectAltName = DNS:twin.test\n"
                             "authorityKeyIdentifier = none\n"));
  const fs::path bundle = f.cat("bundle.pem", {root.cert});
  // The re-keyed CA first: OpenSSL takes it (name matches, nothing to compare) and fails.
  auto r = judged_like_openssl(f.cat("wrong-first.pem", {leaf.cert, rekeyed.cert, genuine.cert}),
                               bundle);
  CHECK_FALSE(r.trusted);
  CHECK(r.verify_error == "X509_V_ERR_CERT_SIGNATURE_FAILURE");
  REQUIRE(has_finding(r, "chain.incomplete"));
  CHECK(find_finding(r, "chain.incomplete")->message.find("did not sign") != std::string::npos);
  CHECK(find_finding(r, "chain.incomplete")->message.find("has no AKI") != std::string::npos);
  CHECK_FALSE(has_finding(r, "chain.verify_failed"));  // explained
  // The genuine CA first: the same certificates verify.
  r = judged_like_openssl(f.cat("right-first.pem", {leaf.cert, genuine.cert, rekeyed.cert}),
                          bundle);
  CHECK(r.trusted);
  CHECK_FALSE(path_refused(r));
  CHECK(has_finding(r, "chain.extra"));
}
