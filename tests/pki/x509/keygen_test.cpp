#include <catch2/catch.hpp>

#include "pki/x509/keygen.h"

using namespace certwatch;
using namespace certwatch::pki;

TEST_CASE("every key type generates, round-trips through PKCS#8 and is recognised", "[pki][keygen]") {
  // RSA-3072/4096 generation is slow; one RSA size covers the RSA path here.
  for (auto name : {"ec-p256", "ec-p384", "rsa-2048", "ed25519"}) {
    auto type = parse_key_type(name);
    REQUIRE(type.ok());
    CHECK(to_string(*type) == name);
    auto key = generate_key(*type);
    REQUIRE(key.ok());
    auto kt = key_type_of(key->get());
    REQUIRE(kt.ok());
    CHECK(*kt == *type);
    auto pem = private_key_to_pem(key->get());
    REQUIRE(pem.ok());
    CHECK(pem->find("-----BEGIN PRIVATE KEY-----") == 0);
    CHECK_FALSE(pem_key_is_encrypted(*pem));
    auto back = private_key_from_pem(*pem, std::nullopt);
    REQUIRE(back.ok());
    CHECK(key_matches(back->get(), key->get()));
  }
}

TEST_CASE("unknown key types are refused by name", "[pki][keygen]") {
  auto r = parse_key_type("rsa-1024");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("rsa-1024") != std::string::npos);
  CHECK_FALSE(parse_key_type("").ok());
  CHECK(is_rsa(KeyType::rsa_4096));
  CHECK_FALSE(is_rsa(KeyType::ec_p256));
}

TEST_CASE("encrypted keys need the right passphrase", "[pki][keygen]") {
  auto key = generate_key(KeyType::ec_p256);
  REQUIRE(key.ok());
  auto pem = private_key_to_pem(key->get(), Passphrase("correct horse"));
  REQUIRE(pem.ok());
  CHECK(pem->find("-----BEGIN ENCRYPTED PRIVATE KEY-----") == 0);
  CHECK(pem_key_is_encrypted(*pem));

  auto none = private_key_from_pem(*pem, std::nullopt);
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().message.find("encrypted") != std::string::npos);

  auto wrong = private_key_from_pem(*pem, Passphrase("battery staple"));
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().message.find("wrong passphrase") != std::string::npos);

  auto right = private_key_from_pem(*pem, Passphrase("correct horse"));
  REQUIRE(right.ok());
  CHECK(key_matches(right->get(), key->get()));

  CHECK_FALSE(private_key_to_pem(key->get(), Passphrase("")).ok());
}

TEST_CASE("different keys do not match, garbage is not a key", "[pki][keygen]") {
  auto a = generate_key(KeyType::ec_p256);
  auto b = generate_key(KeyType::ec_p256);
  auto c = generate_key(KeyType::ed25519);
  REQUIRE((a.ok() && b.ok() && c.ok()));
  CHECK_FALSE(key_matches(a->get(), b->get()));
  CHECK_FALSE(key_matches(a->get(), c->get()));
  CHECK_FALSE(private_key_from_pem("not a key", std::nullopt).ok());
}
