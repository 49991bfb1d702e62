// Recovery never stops half-way (issue #22, item 7): an interrupted deploy is finished whole
// or undone whole. Key and certificate in different directories, a crash after the key write
// (fault point), then the certificate's directory made immutable (`chattr +i`: even root
// cannot create a file in it; a read-only mount's effect without a mount): the previous set
// comes back and the live key matches the live certificate at every sample; a staged set
// whose key went missing does not block the next `renew --force`; and a mixed live set shows
// as key.mismatch on the managed place while nobody may repair it. openssl is the oracle.
#include <catch2/catch.hpp>

#include "integration/renew_harness.h"
#include "pki/deploy/fault_point.h"

using renew_test::RenewLab;
namespace fs = std::filesystem;

namespace renew_recover_test {

bool has_finding(agent_test::AgentProcess& agent, const std::string& id) {
  return !agent_test::series(agent.metrics(), "certwatch_finding", {"id=\"" + id + "\""}).empty();
}

// Bootstraps `config`, then `renew --force` crashes after its key write: the new key beside the
// old certificate, the new set staged, the intent left.
void crash_after_key_write(const RenewLab& lab, const fs::path& config) {
  REQUIRE(lab.renew(config).exit_code == 0);
  REQUIRE(lab.renew(config, {"--force"}, {"CERTWATCH_FAULT=after_key_write"}).exit_code ==
          certwatch::pki::kFaultExitCode);
  REQUIRE(fs::exists(lab.state / "renew" / "broker" / "intent"));
}

}  // namespace renew_recover_test

TEST_CASE(
    "renew recovery: a certificate directory that cannot be written never leaves a new key beside "
    "the old "
    "certificate",
    "[integration][renew][recover]") {
  using namespace renew_recover_test;
  testing::TempDir tmp;
  RenewLab lab(tmp.path());
  const auto keys = tmp / "keys";
  fs::create_directories(keys);
  const auto key = keys / "server.key.pem", cert = lab.certs / "server.cert.pem";
  auto text = lab.split_key(keys, lab.config("1h", "", "{command: [true]}", false));
  text.insert(text.find("http:"), "  renew_retry: 1s\n");
  const auto config = lab.write_config(text);
  crash_after_key_write(lab, config);
  REQUIRE(renew_test::pairing_problem(key, cert) == "key does not match certificate");
  // The certificate is still the bootstrapped one.
  const auto old_serial = agent_test::openssl_serial(cert);

  renew_test::Immutable ro(lab.certs);
  if (!ro.on) {
    WARN("chattr +i is not supported on this file system: the read-only directory is not tested");
    return;
  }
  // The agent starts, due at once (`--force` was interrupted, and its entry wants a renewal
  // only in 40 minutes: the abandoned recovery makes it one), every attempt failing to write
  // the certificate for as long as the directory stays immutable.
  agent_test::AgentProcess agent(tmp.path(), config, lab.http_port);
  REQUIRE(agent.wait_ready());
  int samples = 0, mismatched = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < until) {
    ++samples;
    if (!renew_test::pairing_problem(key, cert).empty()) ++mismatched;
    testing::sleep_ms(50);
  }
  INFO(agent.log());
  CHECK(mismatched == 0);
  CHECK(samples > 10);
  CHECK(agent_test::openssl_serial(cert) == old_serial);
  CHECK_FALSE(fs::exists(lab.state / "renew" / "broker" / "intent"));
  CHECK(agent.log().find("an interrupted deploy could not be finished") != std::string::npos);
  CHECK(has_finding(agent, "renewal.failed"));
  CHECK_FALSE(has_finding(agent, "key.mismatch"));
  // Writable again: the next attempt renews, whole.
  ro.off();
  REQUIRE(testing::eventually([&] { return renew_test::renewals(agent.metrics(), "success") >= 1; },
                              std::chrono::seconds(40 * renew_test::kSlow)));
  CHECK(renew_test::pairing_problem(key, cert).empty());
  CHECK(agent_test::openssl_serial(cert) != old_serial);
  CHECK(testing::eventually([&] { return !has_finding(agent, "renewal.failed"); },
                            std::chrono::seconds(5)));
}

TEST_CASE(
    "renew recovery: a staged set whose key went missing is abandoned, and `renew --force` renews",
    "[integration][renew][recover]") {
  using namespace renew_recover_test;
  testing::TempDir tmp;
  RenewLab lab(tmp.path());
  const auto config = lab.write_config(lab.config("1h", "", "{command: [true]}", false));
  crash_after_key_write(lab, config);
  const auto old_serial = agent_test::openssl_serial(lab.certs / "server.cert.pem");
  fs::remove(lab.state / "renew" / "broker" / "next" / "key.pem");
  auto r = lab.renew(config, {"--force"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("an interrupted deploy could not be finished") != std::string::npos);
  CHECK(r.err.find("key.pem missing") != std::string::npos);
  CHECK(r.out.find("renewed: serial") != std::string::npos);
  CHECK(lab.live_set_problem().empty());
  CHECK(agent_test::openssl_serial(lab.certs / "server.cert.pem") != old_serial);
  CHECK_FALSE(fs::exists(lab.state / "renew" / "broker" / "intent"));
  CHECK(renew_test::valid_rows(lab) == std::vector<std::string>{renew_test::disk_serial(lab)});

  // The same without --force, on a certificate that is not due: the abandoned renewal was
  // wanted, and its certificate (current in the ledger) is not the live one, so it renews.
  REQUIRE(lab.renew(config, {"--force"}, {"CERTWATCH_FAULT=after_key_write"}).exit_code ==
          certwatch::pki::kFaultExitCode);
  fs::remove(lab.state / "renew" / "broker" / "next" / "key.pem");
  const auto live_before = renew_test::disk_serial(lab);
  auto plain = lab.renew(config);
  INFO(plain.out << plain.err);
  CHECK(plain.exit_code == 0);
  CHECK(plain.err.find("renewing afresh") != std::string::npos);
  CHECK(plain.out.find("renewed: serial") != std::string::npos);
  CHECK(renew_test::disk_serial(lab) != live_before);
  CHECK(lab.live_set_problem().empty());
  CHECK(renew_test::valid_rows(lab) == std::vector<std::string>{renew_test::disk_serial(lab)});
}

TEST_CASE(
    "renew recovery: a live key that does not pair with the certificate is key.mismatch on the "
    "managed place",
    "[integration][renew][recover]") {
  using namespace renew_recover_test;
  testing::TempDir tmp;
  RenewLab lab(tmp.path());
  const auto config = lab.write_config(lab.config("1h", "", "{command: [true]}", false));
  crash_after_key_write(lab, config);
  REQUIRE(lab.live_set_problem() == "key does not match certificate");
  // Another process holds the entry (flock(1) on its lock): the agent may not repair it yet,
  // and shows what is live.
  testing::Process holder({"flock", (lab.state / "renew" / "broker" / "lock").string(), "sleep",
                           std::to_string(6 * renew_test::kSlow)},
                          tmp / "flock.out");
  testing::sleep_ms(300);
  agent_test::AgentProcess agent(tmp.path(), config, lab.http_port);
  REQUIRE(agent.wait_ready());
  INFO(agent.log());
  CHECK(testing::eventually([&] { return has_finding(agent, "key.mismatch"); },
                            std::chrono::seconds(5)));
  // Released: the agent finishes the interrupted deploy under the lock.
  REQUIRE(holder.wait(std::chrono::seconds(15 * renew_test::kSlow)));
  CHECK(testing::eventually([&] { return !has_finding(agent, "key.mismatch"); },
                            std::chrono::seconds(20 * renew_test::kSlow)));
  CHECK(lab.live_set_problem().empty());
  CHECK_FALSE(fs::exists(lab.state / "renew" / "broker" / "intent"));
}
