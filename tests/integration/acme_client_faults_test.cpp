// The ACME client's failures against a real pebble: each ends in one clear line, in bounded
// time, with every presented challenge cleaned up; and the next order succeeds when the cause
// is gone.
#include <boost/asio/steady_timer.hpp>
#include <catch2/catch.hpp>

#include "integration/acme_harness.h"
#include "pki/acme/jws.h"

using namespace acme_test;

namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("acme: a wrong directory path and a closed port are clear errors",
          "[integration][acme]") {
  PebbleLab lab;
  RecordingSolver solver;
  auto s = settings_for(lab.pebble);
  s.directory_url = lab.pebble.base_url() + "/no-such-directory";
  CHECK(error_of(lab.order(*lab.client(s), {"a.acme.test"}, solver))
            .rfind("acme: HTTP 404 at directory", 0) == 0);
  const int closed = testing::free_port();
  s.directory_url = "https://127.0.0.1:" + std::to_string(closed) + "/dir";
  CHECK(error_of(lab.order(*lab.client(s), {"a.acme.test"}, solver)) ==
        "acme: directory: connect to 127.0.0.1:" + std::to_string(closed) +
            " failed: Connection refused");
  s.directory_url = "http://127.0.0.1:1/dir";
  CHECK(contains(error_of(lab.order(*lab.client(s), {"a.acme.test"}, solver)),
                 "is not an https:// URL"));
  CHECK(solver.presented.empty());
}

TEST_CASE("acme: an ACME server whose certificate is not trusted fails verification",
          "[integration][acme]") {
  PebbleLab lab;
  pki_cli::ok(
      {"pki", "init", "--dir", (lab.tmp / "other").string(), "--subject", "/CN=Some Other Root"});
  auto s = settings_for(lab.pebble);
  s.server_trust = {lab.tmp / "other" / "ca-bundle.pem"};
  RecordingSolver solver;
  CHECK(error_of(lab.order(*lab.client(s), {"a.acme.test"}, solver)) ==
        "acme: directory: TLS handshake with 127.0.0.1:" + std::to_string(lab.pebble.port()) +
            " failed: certificate verification failed: unable to get local issuer certificate");
  // An unreadable trust file is named.
  s.server_trust = {lab.tmp / "missing.pem"};
  CHECK(contains(error_of(lab.order(*lab.client(s), {"a.acme.test"}, solver)), "missing.pem"));
}

TEST_CASE("acme: a challenge pebble rejects carries the problem type and detail, and is cleaned up",
          "[integration][acme]") {
  // Real validation: pebble resolves the name with challtestsrv (127.0.0.1) and connects to
  // its http-01 port, where nothing listens.
  pebble_test::PebbleOptions options;
  options.challtestsrv = true;
  options.http_port = testing::free_port();
  PebbleLab lab(options);
  auto client = lab.client();
  RecordingSolver solver;
  const std::string e = error_of(lab.order(*client, {"rejected.acme.test"}, solver));
  CHECK(e.rfind("acme: connection at challenge rejected.acme.test: ", 0) == 0);
  CHECK(contains(e, "127.0.0.1"));
  REQUIRE(solver.presented.size() == 1);
  CHECK(solver.cleaned.size() == 1);
  CHECK_FALSE(contains(e, solver.presented[0].key_authorization));
}

TEST_CASE("acme: a solver that fails fails the order with its reason and is still cleaned up",
          "[integration][acme]") {
  PebbleLab lab;
  auto client = lab.client();
  RecordingSolver solver;
  solver.on_present = [](const Challenge&, SolverDone done) {
    done(certwatch::make_error("port 80 is in use"));
  };
  CHECK(error_of(lab.order(*client, {"a.acme.test"}, solver)) ==
        "acme: http-01 solver failed for a.acme.test: port 80 is in use");
  CHECK(solver.cleaned.size() == 1);
  RecordingSolver other;  // no challenge of the solver's type on offer
  other.solver_type = "tls-alpn-02";
  CHECK(contains(error_of(lab.order(*client, {"b.acme.test"}, other)),
                 "the server offers no tls-alpn-02 challenge for b.acme.test (offered: "));
}

TEST_CASE("acme: external account binding with pebble's example key", "[integration][acme]") {
  auto options = pebble_test::with_env({"PEBBLE_VA_ALWAYS_VALID=1"});
  options.eab_required = true;
  options.eab_keys = {{pebble_test::kExampleEabKid, pebble_test::kExampleEabKey}};
  PebbleLab lab(options);
  RecordingSolver solver;
  CHECK(error_of(lab.order(*lab.client(), {"a.acme.test"}, solver))
            .rfind("acme: externalAccountRequired at newAccount: ", 0) == 0);
  auto mac = certwatch::pki::base64url_decode(pebble_test::kExampleEabKey);
  REQUIRE(mac.ok());
  auto s = settings_for(lab.pebble);
  s.eab =
      ExternalAccountBinding{pebble_test::kExampleEabKid, std::string(mac->rbegin(), mac->rend())};
  const std::string wrong = error_of(lab.order(*lab.client(s), {"a.acme.test"}, solver));
  CHECK(wrong.rfind("acme: unauthorized at newAccount: ", 0) == 0);  // a wrong MAC key
  s.eab = ExternalAccountBinding{pebble_test::kExampleEabKid, *mac};
  require_issued(lab.order(*lab.client(s), {"eab.acme.test"}, solver));
  CHECK(solver.presented.size() == 1);
}

TEST_CASE("acme: pebble restarted mid-order: a clear error, then a fresh order succeeds",
          "[integration][acme]") {
  PebbleLab lab;
  auto client = lab.client();
  RecordingSolver solver;
  solver.on_present = [&](const Challenge&, SolverDone done) {
    lab.pebble.restart();  // the order, the account and the nonces are gone with it
    done(certwatch::Result<void>());
  };
  const std::string e = error_of(lab.order(*client, {"restart.acme.test"}, solver));
  CHECK(e.rfind("acme: ", 0) == 0);
  CHECK(contains(e, "at challenge restart.acme.test"));
  CHECK(solver.cleaned.size() == 1);
  RecordingSolver fresh;
  require_issued(lab.order(*client, {"restart.acme.test"}, fresh));

  // Killed and not back: connection refused, named.
  RecordingSolver dead;
  dead.on_present = [&](const Challenge&, SolverDone done) {
    lab.pebble.kill();
    done(certwatch::Result<void>());
  };
  CHECK(contains(error_of(lab.order(*client, {"gone.acme.test"}, dead)),
                 "failed: Connection refused"));
  CHECK(dead.cleaned.size() == 1);
}

TEST_CASE("acme: an order that cannot complete ends at order_timeout", "[integration][acme]") {
  PebbleLab lab;
  auto s = settings_for(lab.pebble);
  s.order_timeout = std::chrono::milliseconds(1500);
  auto client = lab.client(s);
  RecordingSolver solver;
  solver.on_present = [](const Challenge&, SolverDone) {};  // never answers
  const auto started = std::chrono::steady_clock::now();
  const std::string e =
      error_of(lab.order(*client, {"stuck.acme.test"}, solver, std::chrono::seconds(20)));
  const auto took = std::chrono::steady_clock::now() - started;
  CHECK(e.rfind("acme: order timed out at challenge stuck.acme.test ", 0) == 0);
  CHECK(contains(e, "order_timeout 1500 ms"));
  CHECK(took >= std::chrono::milliseconds(1400));
  CHECK(took < std::chrono::seconds(5));
  CHECK(solver.cleaned.size() == 1);
}

TEST_CASE("acme: renewal_info against a directory without renewalInfo is an error",
          "[integration][acme]") {
  PebbleLab lab;
  auto client = lab.client();
  RecordingSolver solver;
  auto issued = lab.order(*client, {"ari.acme.test"}, solver);
  require_issued(issued);
  testing::write_file(lab.tmp / "leaf.pem", (*issued)->chain_pem);
  auto der =
      testing::run({"openssl", "x509", "-in", (lab.tmp / "leaf.pem").string(), "-outform", "DER"});
  REQUIRE(der.exit_code == 0);
  auto r = run_until_done<RenewalInfo>(
      lab.io, [&](std::function<void(certwatch::Result<RenewalInfo>)> done) {
        client->renewal_info(der.out, std::move(done));
      });
  REQUIRE(r.has_value());
  REQUIRE_FALSE(r->ok());
  CHECK(r->error().message == "acme: the directory offers no renewalInfo");
}

TEST_CASE("acme: cancel() ends a pending order with an error and cleans its challenge up",
          "[integration][acme]") {
  PebbleLab lab;
  auto client = lab.client();
  RecordingSolver solver;
  boost::asio::steady_timer later(lab.io);
  solver.on_present = [&](const Challenge&, SolverDone) {  // never answers; the cancel comes first
    later.expires_after(std::chrono::milliseconds(100));
    later.async_wait([&](const boost::system::error_code&) { client->cancel(); });
  };
  const auto started = std::chrono::steady_clock::now();
  CHECK(error_of(lab.order(*client, {"cancel.acme.test"}, solver, std::chrono::seconds(20))) ==
        "acme: cancelled at challenge cancel.acme.test");
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
  CHECK(solver.cleaned.size() == 1);
  RecordingSolver after;  // a cancelled client stays cancelled
  CHECK(error_of(lab.order(*client, {"after.acme.test"}, after)) == "acme: cancelled");
  CHECK(after.presented.empty());
}
