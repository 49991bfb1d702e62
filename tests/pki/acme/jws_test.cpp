#include "pki/acme/jws.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "pki/x509/keygen.h"
#include "support/fixtures.h"

using namespace certwatch;
using namespace certwatch::pki;

namespace {

std::string hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::string decoded(const std::string& text) {
  auto r = base64url_decode(text);
  REQUIRE(r.ok());
  return *r;
}

// The public half as PEM, for openssl's own verification.
std::string public_pem(const EVP_PKEY* key) {
  UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  REQUIRE(PEM_write_bio_PUBKEY(bio.get(), key) == 1);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

// r||s (ES256) back to the DER that openssl dgst -verify expects.
std::string raw_to_der(const std::string& raw) {
  REQUIRE(raw.size() == 64);
  ECDSA_SIG* sig = ECDSA_SIG_new();
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  REQUIRE(ECDSA_SIG_set0(sig, BN_bin2bn(p, 32, nullptr), BN_bin2bn(p + 32, 32, nullptr)) == 1);
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig, &der);
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  ECDSA_SIG_free(sig);
  return out;
}

// openssl dgst verifies the JWS signing input against the public key: an oracle outside pki/.
bool openssl_verifies(const EVP_PKEY* key, const std::string& signing_input,
                      const std::string& sig_der) {
  testing::TempDir tmp;
  testing::write_file(tmp / "pub.pem", public_pem(key));
  testing::write_file(tmp / "input", signing_input);
  testing::write_file(tmp / "sig", sig_der);
  auto r = testing::run({"openssl", "dgst", "-sha256", "-verify", (tmp / "pub.pem").string(),
                         "-signature", (tmp / "sig").string(), (tmp / "input").string()});
  INFO(r.out << r.err);
  return r.exit_code == 0 && r.out.find("Verified OK") != std::string::npos;
}

UniquePtr<EVP_PKEY> rsa_from(const std::string& n64, const std::string& e64) {
  const std::string n = decoded(n64), e = decoded(e64);
  UniquePtr<OSSL_PARAM_BLD> bld(OSSL_PARAM_BLD_new());
  UniquePtr<BIGNUM> bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()),
                                   static_cast<int>(n.size()), nullptr));
  UniquePtr<BIGNUM> bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()),
                                   static_cast<int>(e.size()), nullptr));
  REQUIRE(OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) == 1);
  REQUIRE(OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) == 1);
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld.get());
  UniquePtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* key = nullptr;
  REQUIRE(EVP_PKEY_fromdata_init(ctx.get()) == 1);
  REQUIRE(EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params) == 1);
  OSSL_PARAM_free(params);
  return UniquePtr<EVP_PKEY>(key);
}

}  // namespace

TEST_CASE("base64url round-trips every length and refuses foreign characters", "[pki][jws]") {
  CHECK(base64url("") == "");
  CHECK(base64url("f") == "Zg");
  CHECK(base64url("fo") == "Zm8");
  CHECK(base64url("foo") == "Zm9v");
  CHECK(base64url(std::string("\xfb\xff\xfe", 3)) == "-__-");
  for (size_t n = 0; n < 40; ++n) {
    std::string bytes;
    for (size_t i = 0; i < n; ++i) bytes.push_back(static_cast<char>(i * 37 + 11));
    CHECK(decoded(base64url(bytes)) == bytes);
  }
  CHECK_FALSE(base64url_decode("ab+c").ok());
  CHECK_FALSE(base64url_decode("abcde").ok());
}

TEST_CASE("the RFC 7638 example key has the RFC's JWK and thumbprint", "[pki][jws]") {
  const std::string n =
      "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
      "BJECPebWKRXjBZCiFV4n3"
      "oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
      "FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZH"
      "zu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_"
      "xBniIqbw0Ls1jF44-csFCur-kEgU8"
      "awapJzKnqDKgw";
  auto key = rsa_from(n, "AQAB");
  auto jwk = jwk_json(key.get());
  REQUIRE(jwk.ok());
  CHECK(*jwk == "{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"" + n + "\"}");
  auto thumb = jwk_thumbprint(key.get());
  REQUIRE(thumb.ok());
  CHECK(*thumb == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

TEST_CASE("an ES256 JWS verifies with openssl after r||s goes back to DER", "[pki][jws]") {
  auto key = generate_key(KeyType::ec_p256);
  REQUIRE(key.ok());
  JwsHeader header{"nonce-1", "https://acme.test/new-order", ""};
  auto jws = sign_jws(key->get(), header, R"({"identifiers":[]})");
  REQUIRE(jws.ok());
  const auto doc = nlohmann::json::parse(*jws);
  const std::string protected64 = doc.at("protected"), payload64 = doc.at("payload"),
                    sig64 = doc.at("signature");
  const auto prot = nlohmann::json::parse(decoded(protected64));
  CHECK(prot.at("alg") == "ES256");
  CHECK(prot.at("nonce") == "nonce-1");
  CHECK(prot.at("url") == "https://acme.test/new-order");
  CHECK(prot.at("jwk").at("kty") == "EC");
  CHECK(prot.at("jwk").at("crv") == "P-256");
  CHECK_FALSE(prot.contains("kid"));
  CHECK(decoded(payload64) == R"({"identifiers":[]})");
  const std::string raw = decoded(sig64);
  CHECK(raw.size() == 64);
  CHECK(openssl_verifies(key->get(), protected64 + "." + payload64, raw_to_der(raw)));
  // A different signing input must not verify (the oracle can say no).
  CHECK_FALSE(openssl_verifies(key->get(), protected64 + ".e30", raw_to_der(raw)));
}

TEST_CASE("an RS256 JWS with kid verifies with openssl, other keys are refused", "[pki][jws]") {
  auto key = generate_key(KeyType::rsa_2048);
  REQUIRE(key.ok());
  auto jws = sign_jws(key->get(),
                      JwsHeader{"n2", "https://acme.test/acct/1", "https://acme.test/acct/1"}, "");
  REQUIRE(jws.ok());
  const auto doc = nlohmann::json::parse(*jws);
  const auto prot = nlohmann::json::parse(decoded(doc.at("protected")));
  CHECK(prot.at("alg") == "RS256");
  CHECK(prot.at("kid") == "https://acme.test/acct/1");
  CHECK_FALSE(prot.contains("jwk"));
  CHECK(doc.at("payload") == "");  // POST-as-GET
  CHECK(openssl_verifies(key->get(), doc.at("protected").get<std::string>() + ".",
                         decoded(doc.at("signature"))));

  auto p384 = generate_key(KeyType::ec_p384);
  REQUIRE(p384.ok());
  auto refused = sign_jws(p384->get(), JwsHeader{"n", "u", ""}, "{}");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("P-256") != std::string::npos);
}

TEST_CASE("the EAB inner JWS is HS256 over the account JWK with the key id and URL", "[pki][jws]") {
  auto key = generate_key(KeyType::ec_p256);
  REQUIRE(key.ok());
  const std::string mac_key = "secret-mac-key-bytes\x01\xff";
  auto eab = external_account_binding(key->get(), "kid-1", mac_key, "https://acme.test/new-acct");
  REQUIRE(eab.ok());
  const auto doc = nlohmann::json::parse(*eab);
  const std::string protected64 = doc.at("protected"), payload64 = doc.at("payload");
  const auto prot = nlohmann::json::parse(decoded(protected64));
  CHECK(prot == nlohmann::json::parse(
                    R"({"alg":"HS256","kid":"kid-1","url":"https://acme.test/new-acct"})"));
  CHECK(decoded(payload64) == *jwk_json(key->get()));
  // openssl's HMAC is the oracle.
  testing::TempDir tmp;
  testing::write_file(tmp / "input", protected64 + "." + payload64);
  auto r = testing::run({"openssl", "dgst", "-sha256", "-mac", "HMAC", "-macopt",
                         "hexkey:" + hex(mac_key), (tmp / "input").string()});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find(hex(decoded(doc.at("signature")))) != std::string::npos);
  CHECK(eab->find("secret-mac-key") == std::string::npos);
  CHECK_FALSE(external_account_binding(key->get(), "kid-1", "", "u").ok());
}
