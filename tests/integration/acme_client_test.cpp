// The ACME client (agent/acme) against a real pebble: issuance with either account key type,
// dns-01 values, and badNonce retries. The challenge solver is a recording one: pebble accepts
// every challenge (PEBBLE_VA_ALWAYS_VALID); the real solvers have their own tests.
#include <algorithm>
#include <catch2/catch.hpp>
#include <iostream>

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
  auto r = testing::run({"openssl", "verify", "-CAfile", lab.pebble.issuing_root().string(),
                         "-untrusted", (lab.tmp / "rest.pem").string(),
                         (lab.tmp / "leaf.pem").string()});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
}

}  // namespace

TEST_CASE("acme: an order against pebble issues a chain that openssl verifies",
          "[integration][acme]") {
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

TEST_CASE("acme: dns-01 challenges carry the TXT value of the key authorization",
          "[integration][acme]") {
  PebbleLab lab;
  auto client = lab.client(new_key(certwatch::pki::KeyType::rsa_2048));  // an RS256 account
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

TEST_CASE("acme: pebble really validates the key authorization over http-01 and dns-01",
          "[integration][acme]") {
  pebble_test::PebbleOptions options;
  options.challtestsrv = true;  // pebble's DNS, and the http-01 responder on pebble's httpPort
  PebbleLab lab(options);
  auto client = lab.client();
  RecordingSolver http;
  http.on_present = [&](const Challenge& ch, SolverDone done) {
    REQUIRE(lab.pebble.add_http01(ch.token, ch.key_authorization));
    done(certwatch::Result<void>());
  };
  require_issued(lab.order(*client, {"http.acme.test"}, http),
                 testing::read_file(lab.pebble.log()));
  RecordingSolver dns;
  dns.solver_type = "dns-01";
  dns.on_present = [&](const Challenge& ch, SolverDone done) {
    REQUIRE(lab.pebble.set_txt("_acme-challenge." + ch.identifier + ".", ch.dns_value));
    done(certwatch::Result<void>());
  };
  require_issued(lab.order(*client, {"dns.acme.test"}, dns), testing::read_file(lab.pebble.log()));
  CHECK(dns.cleaned.size() == 1);
  // A wrong TXT value is refused by the same validator (the test can fail).
  RecordingSolver wrong;
  wrong.solver_type = "dns-01";
  wrong.on_present = [&](const Challenge& ch, SolverDone done) {
    REQUIRE(lab.pebble.set_txt("_acme-challenge." + ch.identifier + ".", "not-" + ch.dns_value));
    done(certwatch::Result<void>());
  };
  const std::string e = error_of(lab.order(*client, {"wrong.acme.test"}, wrong));
  CHECK(e.rfind("acme: unauthorized at challenge wrong.acme.test: ", 0) == 0);
}

TEST_CASE("acme: injected badNonce answers are retried and the order is issued",
          "[integration][acme]") {
  PebbleLab lab(pebble_test::with_env({"PEBBLE_VA_ALWAYS_VALID=1", "PEBBLE_WFE_NONCEREJECT=40"}));
  auto client = lab.client();
  RecordingSolver solver;
  require_issued(lab.order(*client, {"nonce.acme.test"}, solver));
}

TEST_CASE("acme: a server that rejects every nonce ends in a bounded badNonce error",
          "[integration][acme]") {
  PebbleLab lab(pebble_test::with_env({"PEBBLE_VA_ALWAYS_VALID=1", "PEBBLE_WFE_NONCEREJECT=100"}));
  auto client = lab.client();
  RecordingSolver solver;
  const std::string e =
      error_of(lab.order(*client, {"nonce.acme.test"}, solver, std::chrono::seconds(30)));
  CHECK(e.rfind("acme: badNonce at ", 0) == 0);
  CHECK(solver.presented.empty());
}

// Not part of CI (hidden tag): the time of whole orders, for bench/RESULTS.md.
//   build/tests/integration_tests "[.acme-bench]"
TEST_CASE("acme: time of 20 sequential orders on one client against pebble", "[.acme-bench]") {
  PebbleLab lab;
  auto client = lab.client();
  std::vector<double> ms;
  for (int i = 0; i < 20; ++i) {
    RecordingSolver solver;
    auto request = request_for({"bench" + std::to_string(i) + ".acme.test"});
    const auto started = std::chrono::steady_clock::now();
    auto r = order(lab.io, *client, request, solver);
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count());
    require_issued(r);
  }
  std::sort(ms.begin() + 1, ms.end());
  std::cout << "first order (directory, account, order): " << ms[0] << " ms; later orders: median "
            << ms[10] << " ms, max " << ms[19] << " ms\n";
}
