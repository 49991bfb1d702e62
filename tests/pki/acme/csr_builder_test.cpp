#include "pki/acme/csr_builder.h"

#include <catch2/catch.hpp>

#include "pki/issue/csr.h"
#include "pki/x509/keygen.h"
#include "support/fixtures.h"

using namespace certwatch;
using namespace certwatch::pki;

TEST_CASE("an ACME CSR carries the key and the identifiers as SANs and verifies with openssl",
          "[pki][csr]") {
  for (auto type : {KeyType::ec_p256, KeyType::rsa_2048, KeyType::ed25519}) {
    CAPTURE(to_string(type));
    auto key = generate_key(type);
    REQUIRE(key.ok());
    auto der = build_csr_der(key->get(),
                             {"mqtt.example.org", "192.0.2.7", "2001:db8::1", "b.example.org"});
    REQUIRE(der.ok());
    auto csr = read_csr(*der);
    REQUIRE(csr.ok());
    CHECK(csr->sans == std::vector<SubjectAltName>{{SubjectAltName::Type::dns, "mqtt.example.org"},
                                                   {SubjectAltName::Type::ip, "192.0.2.7"},
                                                   {SubjectAltName::Type::ip, "2001:db8::1"},
                                                   {SubjectAltName::Type::dns, "b.example.org"}});
    CHECK(key_matches(key->get(), X509_REQ_get0_pubkey(csr->req.get())));
    testing::TempDir tmp;
    testing::write_file(tmp / "req.der", *der);
    auto r = testing::run({"openssl", "req", "-inform", "DER", "-in", (tmp / "req.der").string(),
                           "-verify", "-noout", "-subject"});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("CN = mqtt.example.org") != std::string::npos);
  }
}

TEST_CASE("an ACME CSR refuses no identifiers and malformed ones", "[pki][csr]") {
  auto key = generate_key(KeyType::ec_p256);
  REQUIRE(key.ok());
  CHECK_FALSE(build_csr_der(key->get(), {}).ok());
  CHECK_FALSE(build_csr_der(key->get(), {"a b.example"}).ok());
  CHECK_FALSE(build_csr_der(key->get(), {""}).ok());
}
