// Acceptance for the agent's renewals through a CA whose key is in a PKCS#11 token (issue 26,
// point 1): the agent renews a managed certificate through the token CA (issuers[].pin_file)
// and Mosquitto serves it; a removed token, then a wrong PIN, give renewal.failed with the
// reason and leave the live files as they were, byte for byte; the token back with its PIN,
// the agent's next retry succeeds without a restart. The lab is renew_harness.h's, with one
// more intermediate, token-ca, whose key SoftHSM2 holds.
#include <catch2/catch.hpp>
#include <csignal>

#include "integration/renew_harness.h"
#include "support/softhsm.h"

using renew_test::RenewLab;
namespace fs = std::filesystem;

namespace {

// token-ca beside the lab's file-key CAs: its RSA key generated in the token, signed by the
// lab's root (a key file).
void make_token_ca(const RenewLab& lab, const testing::SoftHsm& hsm) {
  pki_cli::ok({"pki", "ca", "--dir", lab.pki.string(), "--name", "token-ca", "--subject",
               "/CN=Renew Lab Token CA", "--key-uri", hsm.uri("token-ca"), "--key-type", "rsa-2048",
               "--pin-file", hsm.pin_file().string()},
              hsm.env());
}

// The lab's config with its issuer signing through token-ca, the PIN read from `pin_file`.
std::string through_token_ca(const RenewLab& lab, std::string text, const fs::path& pin_file) {
  const std::string issuer = "pki_dir: " + lab.pki.string() + "}";
  const auto at = text.find(issuer);
  REQUIRE(at != std::string::npos);
  text.replace(
      at, issuer.size(),
      "pki_dir: " + lab.pki.string() + ", ca: token-ca, pin_file: " + pin_file.string() + "}");
  return text;
}

std::string issuer_of(const fs::path& pem) {
  auto r = testing::run({"openssl", "x509", "-in", pem.string(), "-noout", "-issuer"});
  REQUIRE(r.exit_code == 0);
  return r.out;
}

}  // namespace

TEST_CASE(
    "pkcs11: the agent renews a mosquitto certificate through the token CA, served and usable",
    "[integration][renew][pkcs11][mosquitto]") {
  if (!testing::have_program("mosquitto") || !testing::have_program("mosquitto_pub"))
    FAIL("mosquitto is not installed");
  testing::TempDir tmp;
  RenewLab lab(tmp.path());
  testing::SoftHsm hsm(tmp.path());
  make_token_ca(lab, hsm);
  // 60 s certificates renewed 52 s before their end: due 8 s after each issuance.
  const auto config = lab.write_config(
      through_token_ca(lab, lab.config("60s", "52s", lab.signal_reload()), hsm.pin_file()));
  // The bootstrap by the command line, through the token too.
  auto boot = lab.renew(config, {}, hsm.env());
  INFO(boot.out << boot.err);
  REQUIRE(boot.exit_code == 0);
  const auto cert = lab.certs / "server.cert.pem";
  CHECK(issuer_of(cert).find("CN = Renew Lab Token CA") != std::string::npos);
  REQUIRE(lab.live_set_problem().empty());
  auto broker = lab.start_broker();
  const auto first = agent_test::openssl_serial(cert);
  REQUIRE(lab.served_serial() == first);

  agent_test::AgentProcess agent(tmp.path(), config, lab.http_port, hsm.env());
  REQUIRE(agent.wait_ready());
  REQUIRE(testing::eventually([&] { return renew_test::renewals(agent.metrics(), "success") >= 1; },
                              std::chrono::seconds(25)));
  INFO(agent.log());
  const auto renewed = agent_test::openssl_serial(cert);
  CHECK(renewed != first);
  CHECK(issuer_of(cert).find("CN = Renew Lab Token CA") != std::string::npos);
  CHECK(lab.live_set_problem().empty());
  // The agent proved the new certificate by handshake before counting it; the oracle agrees.
  CHECK(lab.served_serial() == renewed);
  CHECK(lab.publish("renewed-through-the-token").exit_code == 0);
  CHECK(renew_test::renewals(agent.metrics(), "failure") == 0);
  // The ledger of the token CA holds the renewed certificate.
  auto list = pki_cli::ok({"pki", "list", "--dir", lab.pki.string(), "--ca", "token-ca", "--json"});
  CHECK(list.out.find("\"serial\":\"" + renewed + "\"") != std::string::npos);
  REQUIRE(agent.process().signal(SIGTERM));
  CHECK(agent.process().wait(std::chrono::seconds(10)) == 0);
}

TEST_CASE(
    "pkcs11: a removed token, then a wrong PIN, fail the renewal and touch nothing live until they "
    "are fixed",
    "[integration][renew][pkcs11][faults]") {
  testing::TempDir tmp;
  RenewLab lab(tmp.path());
  testing::SoftHsm hsm(tmp.path());
  make_token_ca(lab, hsm);
  // The agent's own PIN file, which this test breaks and mends; read for each issuance.
  const auto pin_file = tmp / "agent.pin";
  testing::write_file(pin_file, testing::SoftHsm::pin() + "\n");
  // Due 4 s after the bootstrap; a 1 s first retry (doubling) so that the fixes are seen soon.
  auto text = through_token_ca(lab, lab.config("60s", "56s", "{command: [true]}", false), pin_file);
  text.insert(text.find("http:"), "  renew_retry: 1s\n");
  const auto config = lab.write_config(text);
  REQUIRE(lab.renew(config, {}, hsm.env()).exit_code == 0);
  const auto live = [&] {
    return testing::read_file(lab.certs / "server.key.pem") +
           testing::read_file(lab.certs / "server.cert.pem") +
           testing::read_file(lab.certs / "server.chain.pem");
  };
  const auto before = live();

  hsm.remove();
  {
    // The command line says it first.
    auto r = lab.renew(config, {"--force"}, hsm.env());
    INFO(r.out << r.err);
    CHECK(r.exit_code == 2);  // the renewal failed, nothing live changed
    CHECK(r.err.find("no token 'ca' in " + testing::SoftHsm::module_path()) != std::string::npos);
    CHECK(live() == before);
  }
  agent_test::AgentProcess agent(tmp.path(), config, lab.http_port, hsm.env());
  REQUIRE(agent.wait_ready());
  const auto failed = [&] {
    return !agent_test::series(agent.metrics(), "certwatch_finding", {"id=\"renewal.failed\""})
                .empty();
  };
  REQUIRE(testing::eventually(failed, std::chrono::seconds(20)));
  INFO(agent.log());
  CHECK(agent.log().find("no token 'ca'") != std::string::npos);
  CHECK(agent_test::http_get(lab.http_port, "/api/v1/renewals").body.find("no token 'ca'") !=
        std::string::npos);
  CHECK(live() == before);

  // Back in its slot, but the agent's PIN file now holds a wrong PIN: refused, still nothing live.
  testing::write_file(pin_file, "not-" + testing::SoftHsm::pin() + "\n");
  hsm.put_back();
  REQUIRE(testing::eventually([&] { return agent.log().find("wrong PIN") != std::string::npos; },
                              std::chrono::seconds(20)));
  CHECK(agent_test::http_get(lab.http_port, "/api/v1/renewals").body.find("wrong PIN") !=
        std::string::npos);
  CHECK(failed());
  CHECK(live() == before);
  CHECK(renew_test::renewals(agent.metrics(), "success") == 0);
  CHECK(agent.log().find(testing::SoftHsm::pin()) == std::string::npos);

  // The PIN mended: the next retry succeeds, no restart.
  testing::write_file(pin_file, testing::SoftHsm::pin() + "\n");
  REQUIRE(testing::eventually([&] { return renew_test::renewals(agent.metrics(), "success") >= 1; },
                              std::chrono::seconds(20)));
  CHECK(live() != before);
  CHECK(lab.live_set_problem().empty());
  CHECK(issuer_of(lab.certs / "server.cert.pem").find("CN = Renew Lab Token CA") !=
        std::string::npos);
  CHECK(testing::eventually([&] { return !failed(); }, std::chrono::seconds(5)));
  CHECK(agent.process().running());
}

// README "Offline root": the root's key (a file) signs the token intermediate and leaves the
// host; renewals, leaves and the intermediate's CRL go on without it, and what would need it
// says so.
TEST_CASE("pkcs11: with the root's key offline, the token intermediate renews, issues and signs its CRL",
          "[integration][renew][pkcs11]") {
  testing::TempDir tmp;
  RenewLab lab(tmp.path());
  testing::SoftHsm hsm(tmp.path());
  make_token_ca(lab, hsm);
  const fs::path root_key = lab.pki / "root-ca" / "private" / "root-ca.key.pem";
  const fs::path offline = tmp / "offline" / "root-ca.key.pem";
  fs::create_directories(offline.parent_path());
  fs::rename(root_key, offline);

  const auto config = lab.write_config(
      through_token_ca(lab, lab.config("1h", "", "", false), hsm.pin_file()));
  auto boot = lab.renew(config, {}, hsm.env());
  INFO(boot.out << boot.err);
  REQUIRE(boot.exit_code == 0);
  CHECK(issuer_of(lab.certs / "server.cert.pem").find("CN = Renew Lab Token CA") != std::string::npos);
  CHECK(lab.live_set_problem().empty());
  const std::string pin = hsm.pin_file().string();
  pki_cli::ok({"pki", "issue", "--dir", lab.pki.string(), "--ca", "token-ca", "--profile", "client", "--name",
               "device-1", "--subject", "/CN=device-1", "--pin-file", pin},
              hsm.env());
  pki_cli::ok({"pki", "crl", "--dir", lab.pki.string(), "--ca", "token-ca", "--pin-file", pin}, hsm.env());
  auto crl = testing::run({"openssl", "crl", "-in", (lab.pki / "token-ca" / "crl" / "token-ca.crl.pem").string(),
                           "-noout", "-CAfile", (lab.pki / "token-ca" / "certs" / "token-ca.cert.pem").string()});
  CHECK(crl.exit_code == 0);
  // What needs the root's key says where it is not.
  auto root_crl = pki_cli::certwatch({"pki", "crl", "--dir", lab.pki.string(), "--ca", "root-ca"});
  CHECK(root_crl.exit_code == 1);
  CHECK(root_crl.err.find("has no key") != std::string::npos);
  CHECK_FALSE(fs::exists(root_key));
}
