#include "pki/x509/issued_facts.h"

#include <catch2/catch.hpp>

#include "support/issuer_fixture.h"

using certwatch::pki::KeyType;

// The oracle is the certificate the issuer makes: its own words for its key and signature.
TEST_CASE("a key type and a CA's key give the words of the certificate issued",
          "[pki][issued_facts]") {
  testing::Pki pki;
  const KeyType types[] = {KeyType::ec_p256, KeyType::ec_p384, KeyType::rsa_2048, KeyType::ed25519};
  for (const KeyType ca_type : types) {
    const std::string ca_name = "ca-" + std::string(certwatch::pki::to_string(ca_type));
    certwatch::pki::CaRequest ca;
    ca.name = ca_name;
    ca.subject = "/O=Lab/CN=" + ca_name;
    ca.key_type = ca_type;
    ca.now = pki.now;
    REQUIRE(pki.issuer.create_ca(ca).ok());
    auto ca_cert = pki.issuer.ca_certificate(ca_name);
    REQUIRE(ca_cert.ok());
    for (const KeyType leaf_type : types) {
      auto rq = pki.server(ca_name + "-" + std::string(certwatch::pki::to_string(leaf_type)));
      rq.ca = ca_name;
      rq.key_type = leaf_type;
      auto issued = pki.issuer.issue(rq);
      REQUIRE(issued.ok());
      INFO("CA " << ca_name << ", leaf " << certwatch::pki::to_string(leaf_type));
      CHECK(certwatch::pki::signature_algorithm_signed_by(*ca_cert) ==
            issued->cert.signature_algorithm());
      CHECK(certwatch::pki::describe_public_key(certwatch::pki::key_type_info(leaf_type)) ==
            issued->cert.key_description());
    }
  }
}
