#include <catch2/catch.hpp>

#include "pki/x509/certificate.h"
#include "pki/x509/key.h"
#include "support/fixtures.h"
#include "support/pki_fixture.h"

using namespace testing;

namespace {
certwatch::pki::Certificate cert_of(const fs::path& p) { return certwatch::pki::Certificate::from_pem(read_file(p)).value(); }
}  // namespace

TEST_CASE("key fingerprint matches its certificate's SPKI fingerprint", "[key]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  auto root = f.root("r", CertOptions::of("R"));
  auto ec = f.server("ec", root, CertOptions::of("ec.test"));
  auto rsa = f.server("rsa", root, CertOptions::of("rsa.test").with_alg(KeyAlg::rsa_2048));
  auto k_ec = certwatch::pki::load_key(ec.key);
  REQUIRE(k_ec.ok());
  CHECK_FALSE(k_ec->encrypted);
  CHECK(k_ec->key_type == "EC P-256");
  CHECK(k_ec->mode == 0600);
  CHECK(k_ec->spki_sha256 == cert_of(ec.cert).spki_sha256_hex());
  CHECK(k_ec->spki_sha256 != cert_of(rsa.cert).spki_sha256_hex());
  auto k_rsa = certwatch::pki::load_key(rsa.key);
  REQUIRE(k_rsa.ok());
  CHECK(k_rsa->key_type == "RSA 2048");
  CHECK(k_rsa->spki_sha256 == cert_of(rsa.cert).spki_sha256_hex());
}

TEST_CASE("traditional, PKCS#8 and DER keys give the same fingerprint", "[key]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  const auto key = f.key("k.pem");
  const std::string expected = certwatch::pki::load_key(key).value().spki_sha256;
  REQUIRE(expected.size() == 64);
  must_run({"openssl", "pkey", "-in", key.string(), "-traditional", "-out", (tmp / "t.pem").string()});
  must_run({"openssl", "pkey", "-in", key.string(), "-outform", "DER", "-out", (tmp / "k.der").string()});
  CHECK(read_file(tmp / "t.pem").find("BEGIN EC PRIVATE KEY") != std::string::npos);
  CHECK(certwatch::pki::load_key(tmp / "t.pem").value().spki_sha256 == expected);
  CHECK(certwatch::pki::load_key(tmp / "k.der").value().spki_sha256 == expected);
}

TEST_CASE("an encrypted key is recorded as encrypted unless the passphrase opens it", "[key]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  const auto key = f.key("k.pem");
  const std::string expected = certwatch::pki::load_key(key).value().spki_sha256;
  for (bool traditional : {false, true}) {
    const auto enc = f.encrypt_key(key, traditional ? "t.pem" : "p8.pem", "secret", traditional);
    auto locked = certwatch::pki::load_key(enc);
    REQUIRE(locked.ok());
    CHECK(locked->encrypted);
    CHECK(locked->spki_sha256.empty());
    auto wrong = certwatch::pki::load_key(enc, std::string("nope"));
    REQUIRE(wrong.ok());
    CHECK(wrong->encrypted);
    auto open = certwatch::pki::load_key(enc, std::string("secret"));
    REQUIRE(open.ok());
    CHECK_FALSE(open->encrypted);
    CHECK(open->spki_sha256 == expected);
  }
}

TEST_CASE("key_from_bytes rejects bytes without a key", "[key]") {
  CHECK_FALSE(certwatch::pki::key_from_bytes("hello", "x", 0600).ok());
  CHECK_FALSE(certwatch::pki::key_from_bytes("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
                                  "x", 0600)
                  .ok());
}

TEST_CASE("key_mode_too_open flags group or other read", "[key]") {
  CHECK_FALSE(certwatch::pki::key_mode_too_open(0600));
  CHECK_FALSE(certwatch::pki::key_mode_too_open(0400));
  CHECK(certwatch::pki::key_mode_too_open(0640));
  CHECK(certwatch::pki::key_mode_too_open(0604));
  CHECK(certwatch::pki::key_mode_too_open(0644));
}
