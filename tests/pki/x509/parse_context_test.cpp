// Certificates parsed with a deferred key (pki/x509/parse_context.h, Certificate::
// from_der_deferred_key) must be indistinguishable from full parses in everything certwatch
// reports, and in OpenSSL's verdict.
#include <catch2/catch.hpp>

#include <openssl/err.h>
#include <openssl/x509.h>

#include <ctime>

#include "pki/x509/certificate.h"
#include "pki/verify/chain.h"
#include "pki/judge/judge.h"
#include "pki/x509/keygen.h"
#include "pki/load/load.h"
#include "pki/x509/parse_context.h"
#include "support/fixtures.h"
#include "support/pki_fixture.h"

using namespace testing;

namespace {

std::vector<unsigned char> der_of(const fs::path& pem) {
  auto c = certwatch::pki::Certificate::from_pem(read_file(pem));
  REQUIRE(c.ok());
  return c->der();
}

fs::path genpkey(const fs::path& dir, const std::string& name, std::vector<std::string> args) {
  const fs::path out = dir / (name + ".key");
  std::vector<std::string> argv{"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"-out", out.string()});
  must_run(argv);
  return out;
}

// Everything Certificate reports, from both parses of the same bytes.
void check_same(const certwatch::pki::Certificate& deferred, const certwatch::pki::Certificate& full) {
  CHECK(deferred.sha256() == full.sha256());
  CHECK(deferred.spki_sha256_hex() == full.spki_sha256_hex());
  const certwatch::pki::PublicKeyInfo a = deferred.public_key(), b = full.public_key();
  CHECK(a.type == b.type);
  CHECK(a.bits == b.bits);
  CHECK(a.curve == b.curve);
  CHECK(deferred.key_description() == full.key_description());
  CHECK(deferred.subject() == full.subject());
  CHECK(deferred.same_as(full));
  CHECK(full.same_as(deferred));
  CHECK(deferred.is_ca() == full.is_ca());
  CHECK(deferred.sans() == full.sans());
  CHECK(X509_get_extension_flags(deferred.native()) == X509_get_extension_flags(full.native()));
  EVP_PKEY* ka = deferred.public_key_object();
  EVP_PKEY* kb = full.public_key_object();
  REQUIRE((ka == nullptr) == (kb == nullptr));
  if (ka != nullptr) CHECK(EVP_PKEY_eq(ka, kb) == 1);
}

}  // namespace

TEST_CASE("leaf parse context exists and holds no general algorithms", "[parse_context]") {
  OSSL_LIB_CTX* ctx = certwatch::pki::leaf_parse_context();
  REQUIRE(ctx != nullptr);
  CHECK(certwatch::pki::leaf_parse_context() == ctx);
  // SHA-1 is there (OpenSSL needs it while parsing), SHA-256 and signatures are not.
  EVP_MD* sha1 = EVP_MD_fetch(ctx, "SHA1", nullptr);
  CHECK(sha1 != nullptr);
  EVP_MD_free(sha1);
  EVP_MD* sha256 = EVP_MD_fetch(ctx, "SHA256", nullptr);
  CHECK(sha256 == nullptr);
  EVP_MD_free(sha256);
  ERR_clear_error();
}

TEST_CASE("deferred-key leaves report what full parses report, for every key type",
          "[parse_context]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  auto root = f.root("root", CertOptions::of("Parse Root"));
  auto ca = f.ca("ca", root, CertOptions::of("Parse CA"));
  const fs::path bundle = root.cert;

  struct KeyCase {
    std::string name;
    std::vector<std::string> genpkey;
    bool deferred;  // RSA and named-curve EC take the cheap path; others are parsed in full
  };
  const std::vector<KeyCase> cases{
      {"ec-p256", {"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"}, true},
      {"ec-p384", {"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"}, true},
      {"ec-p521", {"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"}, true},
      {"ec-k256", {"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp256k1"}, true},
      {"ec-brainpool", {"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:brainpoolP256r1"}, true},
      {"ec-explicit",
       {"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-pkeyopt",
        "encoding:explicit"},
       false},
      {"rsa-1024", {"genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"}, true},
      {"rsa-2047", {"genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2047"}, true},
      {"rsa-3072", {"genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"}, true},
      {"rsa-pss", {"genpkey", "-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048"}, false},
      {"ed25519", {"genpkey", "-algorithm", "ED25519"}, false},
      {"ed448", {"genpkey", "-algorithm", "ED448"}, false},
  };
  for (const auto& kc : cases) {
    INFO(kc.name);
    const fs::path key = genpkey(tmp.path(), kc.name, kc.genpkey);
    auto leaf = f.server(kc.name, ca, CertOptions::of(kc.name + ".example").with_key(key));
    const auto der = der_of(leaf.cert);
    auto full = certwatch::pki::Certificate::from_der(der);
    auto deferred = certwatch::pki::Certificate::from_der_deferred_key(der);
    REQUIRE(full.ok());
    REQUIRE(deferred.ok());
    CHECK(deferred->key_deferred() == kc.deferred);
    CHECK_FALSE(full->key_deferred());
    check_same(*deferred, *full);
    CHECK(deferred->with_key_decoded().key_deferred() == false);
    check_same(deferred->with_key_decoded(), *full);
    CHECK(deferred->signed_by(*certwatch::pki::Certificate::from_pem(read_file(ca.cert))));

    // The loader's parse, and the verdict: openssl verify's, and the full parse's.
    const fs::path chain = f.cat(kc.name + ".chain.pem", {leaf.cert, ca.cert});
    const auto loaded = load_certs(chain);
    REQUIRE(loaded.size() == 2);
    CHECK(loaded[0].key_deferred() == kc.deferred);
    CHECK_FALSE(loaded[1].key_deferred());  // a CA: always in full
    certwatch::pki::JudgeOptions opt;
    opt.now = static_cast<int64_t>(std::time(nullptr));
    opt.trust = load_certs(bundle);
    const certwatch::pki::Report r = certwatch::pki::judge_file(chain, opt);
    INFO(describe(r));
    CHECK(r.trusted == openssl_verifies(bundle, chain));
    CHECK(r.trusted == (kc.name != "ec-explicit"));  // OpenSSL refuses explicit curve parameters
    const certwatch::pki::TrustIndex index(opt.trust);
    const std::vector<certwatch::pki::Certificate> full_chain{*full, loaded[1]};
    const auto v_deferred = certwatch::pki::openssl_verdict(loaded[0], loaded, index, 0, nullptr);
    const auto v_full = certwatch::pki::openssl_verdict(*full, full_chain, index, 0, nullptr);
    CHECK(v_deferred.ok == v_full.ok);
    CHECK(v_deferred.error == v_full.error);
    certwatch::pki::VerifyCache cache;
    CHECK(certwatch::pki::openssl_verdict(loaded[0], loaded, index, 0, &cache).ok == v_full.ok);
  }
}

TEST_CASE("a leaf signed by a trust anchor directly verifies with a deferred key",
          "[parse_context]") {
  // OpenSSL asks whether the leaf is self-signed when its issuer is in the store: the
  // deferred key must answer as the real one would.
  TempDir tmp;
  PkiFixture f(tmp.path());
  auto s = make_seed000(f);
  const auto leaf = load_certs(s.server.cert);
  REQUIRE(leaf.size() == 1);
  CHECK(leaf[0].key_deferred());
  const certwatch::pki::TrustIndex index(load_certs(s.root.cert));
  const auto v = certwatch::pki::openssl_verdict(leaf[0], leaf, index, 0, nullptr);
  CHECK(v.ok);
  CHECK(v.ok == openssl_verifies(s.root.cert, s.server.cert));
}

TEST_CASE("CA, self-issued and issuing certificates are parsed in full", "[parse_context]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  auto root = f.root("root", CertOptions::of("Parse Root"));
  auto ca = f.ca("ca", root, CertOptions::of("Parse CA"));
  auto d_root = certwatch::pki::Certificate::from_der_deferred_key(der_of(root.cert));
  auto d_ca = certwatch::pki::Certificate::from_der_deferred_key(der_of(ca.cert));
  REQUIRE(d_root.ok());
  REQUIRE(d_ca.ok());
  CHECK_FALSE(d_root->key_deferred());
  CHECK_FALSE(d_ca->key_deferred());

  // A self-issued end-entity certificate (subject == issuer, CA:FALSE).
  auto self = f.root("self", CertOptions::of("self.example").with_ext(
                                 "basicConstraints=CA:FALSE\nsubjectAltName=DNS:self.example"));
  auto d_self = certwatch::pki::Certificate::from_der_deferred_key(der_of(self.cert));
  REQUIRE(d_self.ok());
  CHECK_FALSE(d_self->key_deferred());

  // A leaf that signs another certificate of the same file (odd, but OpenSSL must see its
  // key): the loader parses it in full; a leaf that signs nothing stays deferred.
  auto leaf = f.server("leaf", ca, CertOptions::of("leaf.example"));
  auto under_leaf = f.server("under", leaf, CertOptions::of("under.example"));
  const auto both = load_certs(f.cat("both.pem", {under_leaf.cert, leaf.cert, ca.cert}));
  REQUIRE(both.size() == 3);
  CHECK(both[0].key_deferred());
  CHECK_FALSE(both[1].key_deferred());
  CHECK_FALSE(both[2].key_deferred());

  // Trust anchors are held in full whatever they were loaded as.
  const auto leaf_only = load_certs(leaf.cert);
  REQUIRE(leaf_only[0].key_deferred());
  const certwatch::pki::TrustIndex index(leaf_only);
  REQUIRE(index.certs().size() == 1);
  CHECK_FALSE(index.certs()[0].key_deferred());
}

namespace {

// A P-256 leaf under root whose subjectPublicKey is `point`, signed by root's key.
std::vector<unsigned char> leaf_with_point(const CertFiles& root, const std::vector<unsigned char>& point) {
  auto ca_key = certwatch::pki::private_key_from_pem(read_file(root.key), std::nullopt);
  REQUIRE(ca_key.ok());
  auto ca_cert = certwatch::pki::Certificate::from_pem(read_file(root.cert));
  REQUIRE(ca_cert.ok());
  certwatch::pki::UniquePtr<X509> x(X509_new());
  REQUIRE(x);
  REQUIRE(X509_set_version(x.get(), X509_VERSION_3) == 1);
  REQUIRE(ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 4242) == 1);
  REQUIRE(X509_set_issuer_name(x.get(), X509_get_subject_name(ca_cert->native())) == 1);
  certwatch::pki::UniquePtr<X509_NAME> subject(X509_NAME_new());
  REQUIRE(X509_NAME_add_entry_by_txt(subject.get(), "CN", MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>("point"), -1, -1, 0) == 1);
  REQUIRE(X509_set_subject_name(x.get(), subject.get()) == 1);
  REQUIRE(X509_gmtime_adj(X509_getm_notBefore(x.get()), 0) != nullptr);
  REQUIRE(X509_gmtime_adj(X509_getm_notAfter(x.get()), 86400) != nullptr);
  auto* bits = static_cast<unsigned char*>(OPENSSL_memdup(point.data(), point.size()));
  REQUIRE(bits != nullptr);
  REQUIRE(X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x.get()), OBJ_nid2obj(NID_X9_62_id_ecPublicKey),
                                 V_ASN1_OBJECT, OBJ_nid2obj(NID_X9_62_prime256v1), bits,
                                 static_cast<int>(point.size())) == 1);
  REQUIRE(X509_sign(x.get(), ca_key->get(), EVP_sha256()) > 0);
  return certwatch::pki::Certificate(std::move(x)).der();
}

}  // namespace

TEST_CASE("a leaf whose EC point is not on its curve is parsed as OpenSSL parses it",
          "[parse_context]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  auto root = f.root("root", CertOptions::of("Parse Root"));
  // 0x04 || X || Y with X = Y = 1: the right length for P-256, not on the curve.
  std::vector<unsigned char> point(65, 0);
  point[0] = 0x04;
  point[32] = 1;
  point[64] = 1;
  const auto der = leaf_with_point(root, point);
  auto full = certwatch::pki::Certificate::from_der(der);
  auto deferred = certwatch::pki::Certificate::from_der_deferred_key(der);
  REQUIRE(full.ok());
  REQUIRE(deferred.ok());
  CHECK_FALSE(deferred->key_deferred());
  CHECK(full->public_key_object() == nullptr);
  check_same(*deferred, *full);
  CHECK(deferred->key_description() == "unknown");
  ERR_clear_error();
}

TEST_CASE("a leaf with a compressed EC point is deferred and reads the same",
          "[parse_context]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  auto root = f.root("root", CertOptions::of("Parse Root"));
  const fs::path key_path = f.key("compressed");
  auto key = certwatch::pki::private_key_from_pem(read_file(key_path), std::nullopt);
  REQUIRE(key.ok());
  REQUIRE(EVP_PKEY_set_utf8_string_param(key->get(), OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                         "compressed") == 1);
  std::vector<unsigned char> point(128);
  size_t len = 0;
  REQUIRE(EVP_PKEY_get_octet_string_param(key->get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                          point.size(), &len) == 1);
  point.resize(len);
  REQUIRE(point.size() == 33);
  const auto der = leaf_with_point(root, point);
  auto full = certwatch::pki::Certificate::from_der(der);
  auto deferred = certwatch::pki::Certificate::from_der_deferred_key(der);
  REQUIRE(full.ok());
  REQUIRE(deferred.ok());
  CHECK(deferred->key_deferred());
  check_same(*deferred, *full);
  CHECK(deferred->key_description() == "EC P-256");
  CHECK(deferred->signed_by(*certwatch::pki::Certificate::from_pem(read_file(root.cert))));
}

TEST_CASE("concatenated DER certificates keep their boundaries with deferred keys",
          "[parse_context]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  auto s = make_seed001(f);
  auto leaf = der_of(s.leaf.cert);
  const auto ca = der_of(s.server_ca.cert);
  std::vector<unsigned char> both = leaf;
  both.insert(both.end(), ca.begin(), ca.end());
  size_t used = 0;
  auto first = certwatch::pki::Certificate::from_der_deferred_key(both, &used);
  REQUIRE(first.ok());
  CHECK(used == leaf.size());
  CHECK(first->key_deferred());
  auto r = certwatch::pki::load_bytes(std::string(both.begin(), both.end()), "both.der");
  REQUIRE(r.ok());
  REQUIRE(r->certs.size() == 2);
  CHECK(r->certs[0].subject_cn() == "mqtt.my-iot-cloud.com");
  CHECK(r->certs[0].key_deferred());
  CHECK_FALSE(r->certs[1].key_deferred());
  // Garbage is refused with OpenSSL's own error, as from_der refuses it.
  leaf.resize(leaf.size() / 2);
  CHECK_FALSE(certwatch::pki::Certificate::from_der_deferred_key(leaf).ok());
}
