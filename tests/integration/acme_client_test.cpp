// The ACME client (agent/acme) against a real pebble: issuance with either account key type,
// dns-01 values, and badNonce retries. The challenge solver is a recording one: pebble accepts
// every challenge (PEBBLE_VA_ALWAYS_VALID); the real solvers have their own tests.
#include <catch2/catch.hpp>

#include "integration/acme_harness.h"

using namespace acme_test;

namespace {

// The chain pebble served, checked by openssl against pebble's own issuing root: the leaf
// first, then the intermediate.
void require_chain_verifies(PebbleLab& lab, const std::string& chain_pem) {
  REQUIRE(pki_cli::pem_count(chain_pem) >= 2);
  const size_t second = chain_pem.find("-----BEGIN CERTIFICATE-----", 1);
  testing::write_file(lab.tmp / "leaf.pem", chain_pem.substr(0, second));
  testing::write_file(lab.tmp / "rest.pem", chain_pem.substr(second));
  auto r = testing::run({"openssl", "verify", "-CAfile", lab.pebble.issuing_root().string(), "-untrusted",
                         (lab.tmp / "rest.pem").string(), (lab.tmp / "leaf.pem").string()});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
}

}  // namespace

TEST_CASE("acme: an order against pebble issues a chain that openssl verifies", "[integration][acme]") {
  PebbleLab lab;
  auto client = lab.client();
  RecordingSolver solver;
  const auto started = std::chrono::steady_clock::now();
  auto r = lab.order(*client, {"mqtt.acme.test", "broker.acme.test"}, solver);
  require_issued(r, testing::read_file(lab.pebble.log()));
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
  CHECK((*r)->order_url.rfind(lab.pebble.base_url(), 0) == 0);
  require_chain_verifies(lab, (*r)->chain_pem);
  auto text = pki_cli::x509_text((lab.tmp / "leaf.pem").string());
  CHECK(text.find("DNS:mqtt.acme.test") != std::string::npos);
  CHECK(text.find("DNS:broker.acme.test") != std::string::npos);
  // One challenge per identifier, each cleaned up once; key authorization = token.thumbprint.
  REQUIRE(solver.presented.size() == 2);
  CHECK(solver.cleaned.size() == 2);
  for (const auto& ch : solver.presented) {
    CHECK(ch.type == "http-01");
    CHECK(ch.key_authorization.rfind(ch.token + ".", 0) == 0);
    CHECK(ch.dns_value.empty());
  }
  // A second order with the same client reuses the account and issues again.
  RecordingSolver again;
  require_issued(lab.order(*client, {"second.acme.test"}, again));
}

TEST_CASE("acme: dns-01 challenges carry the TXT value of the key authorization", "[integration][acme]") {
  PebbleLab lab;
  auto client = lab.client(new_key(pki::KeyType::rsa_2048));  // an RS256 account
  RecordingSolver solver;
  solver.solver_type = "dns-01";
  require_issued(lab.order(*client, {"dns.acme.test"}, solver));
  REQUIRE(solver.presented.size() == 1);
  const auto& ch = solver.presented[0];
  // openssl computes base64url(SHA-256(key authorization)) independently.
  testing::write_file(lab.tmp / "ka", ch.key_authorization);
  auto d = testing::sh("openssl dgst -sha256 -binary " + (lab.tmp / "ka").string() +
                       " | openssl base64 -A | tr '+/' '-_' | tr -d '='");
  REQUIRE(d.exit_code == 0);
  CHECK(ch.dns_value == d.out);
  CHECK(solver.cleaned.size() == 1);
}

TEST_CASE("acme: injected badNonce answers are retried and the order is issued", "[integration][acme]") {
  PebbleLab lab(pebble_test::with_env({"PEBBLE_VA_ALWAYS_VALID=1", "PEBBLE_WFE_NONCEREJECT=40"}));
  auto client = lab.client();
  RecordingSolver solver;
  require_issued(lab.order(*client, {"nonce.acme.test"}, solver));
}

TEST_CASE("acme: a server that rejects every nonce ends in a bounded badNonce error", "[integration][acme]") {
  PebbleLab lab(pebble_test::with_env({"PEBBLE_VA_ALWAYS_VALID=1", "PEBBLE_WFE_NONCEREJECT=100"}));
  auto client = lab.client();
  RecordingSolver solver;
  const std::string e = error_of(lab.order(*client, {"nonce.acme.test"}, solver, std::chrono::seconds(30)));
  CHECK(e.rfind("acme: badNonce at ", 0) == 0);
  CHECK(solver.presented.empty());
}
