// The agent on an injected clock: one certificate goes ok -> warning -> critical -> expired
// as the test moves time, and both /metrics and /api/v1/certificates follow. Nothing sleeps
// for the certificate to age; the test only waits (bounded) for the scan pool's results.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "support/fixtures.h"
#include "support/in_process_agent.h"
#include "support/pki_fixture.h"

using namespace std::chrono_literals;

namespace {

bool has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("agent follows the injected clock: ok, warning, critical, expired",
          "[agent][daemon][clock]") {
  testing::TempDir dir;
  testing::PkiFixture pki(dir / "pki");
  auto root = pki.root("root", testing::CertOptions::of("Clock Root").with_days(3650));
  auto leaf = pki.server("leaf", root, testing::CertOptions::of("clock.example").with_days(100));
  std::filesystem::create_directories(dir / "watched");
  std::filesystem::copy_file(leaf.cert, dir / "watched/leaf.chain.pem");
  const auto certs = testing::load_certs(leaf.cert);
  REQUIRE(certs.size() == 1);
  const int64_t not_before = certs[0].validity().not_before;
  const int64_t not_after = certs[0].validity().not_after;

  const int port = testing::free_port();
  testing::write_file(dir / "certwatch.yaml", "agent: {state_dir: " + (dir / "state").string() +
                                                  "}\n"
                                                  "http: {listen: \"127.0.0.1:" +
                                                  std::to_string(port) +
                                                  "\"}\n"
                                                  "trust: [" +
                                                  root.cert.string() +
                                                  "]\n"
                                                  "watch:\n  - {path: " +
                                                  (dir / "watched").string() + "}\n");

  // Day one of the certificate's 100 days.
  testing::InProcessAgent agent(dir / "certwatch.yaml", not_before + 86400);
  REQUIRE(testing::eventually([&] { return agent.ready(); }, 10s));
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  auto metrics = [&] { return testing::run({"curl", "-sf", url + "/metrics"}, 10s).out; };
  auto api = [&] { return testing::run({"curl", "-sf", url + "/api/v1/certificates"}, 10s).out; };
  const std::string finding = "certwatch_finding{source=\"file\",target=\"" +
                              (dir / "watched/leaf.chain.pem").string() + "\",index=\"0\",";

  // ok: no expiry finding, the expiry exported.
  CHECK_FALSE(has(metrics(), "cert.expires_soon"));
  CHECK(has(metrics(), "certwatch_cert_not_after_timestamp_seconds"));
  CHECK(has(api(), "\"seconds_left\":" + std::to_string(not_after - (not_before + 86400))));

  // Moves the clock to `at` (POSIX seconds) and waits until /metrics shows `expect`.
  auto move_to = [&](int64_t at, const std::string& expect) {
    agent.advance_to(at);
    return testing::eventually([&] { return has(metrics(), expect); }, 10s);
  };

  // 25 days left: under min(30d, lifetime/3): warning.
  CHECK(move_to(not_after - 25 * 86400,
                finding + "id=\"cert.expires_soon\",severity=\"warning\",fingerprint_sha256=\""));
  CHECK(has(api(), "\"id\":\"cert.expires_soon\",\"severity\":\"warning\""));
  CHECK(has(api(), "\"seconds_left\":" + std::to_string(25 * 86400)));
  // 5 days left: under min(7d, lifetime/10): critical; the warning series is gone.
  CHECK(move_to(not_after - 5 * 86400,
                finding + "id=\"cert.expires_soon\",severity=\"critical\",fingerprint_sha256=\""));
  CHECK_FALSE(has(metrics(), "severity=\"warning\""));
  CHECK(has(api(), "\"id\":\"cert.expires_soon\",\"severity\":\"critical\""));
  // A day past notAfter: expired; the expiry is still exported.
  CHECK(move_to(not_after + 86400,
                finding + "id=\"cert.expired\",severity=\"critical\",fingerprint_sha256=\""));
  CHECK_FALSE(has(metrics(), "cert.expires_soon"));
  CHECK(has(metrics(), "certwatch_cert_not_after_timestamp_seconds"));
  CHECK(has(api(), "\"id\":\"cert.expired\""));
  CHECK(has(api(), "\"seconds_left\":-86400"));
}
