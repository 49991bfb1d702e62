// Acceptance for the ACME issuer (issue #14) against a real pebble with pebble-challtestsrv as
// its DNS (every name resolves to 127.0.0.1) and a real mosquitto: http-01 answered by the
// agent's own listener (pebble validates on the listener's port), dns-01 through a hook script
// that sets the TXT record in challtestsrv's mock DNS with curl, and a rejected challenge that
// ends in renewal.failed with pebble's reason, nothing live touched, and a later success; the
// same for a wrong directory, a closed port and an untrusted ACME server, under badNonce.
#include <signal.h>

#include <catch2/catch.hpp>
#include <sstream>

#include "integration/pebble_server.h"
#include "integration/renew_harness.h"
#include "pki/issue/ledger.h"

using renew_test::RenewLab;
namespace fs = std::filesystem;

namespace {

pebble_test::PebbleOptions with_dns(int http_port) {
  pebble_test::PebbleOptions o;
  o.challtestsrv = true;
  o.http_port = http_port;
  return o;
}

// The config of the renewal lab with an ACME issuer instead of the built-in CA.
std::string acme_config(const RenewLab& lab, pebble_test::Pebble& pebble,
                        const std::string& challenge, const std::string& sans,
                        const std::string& reload, const std::string& extra = "") {
  return "agent:\n  state_dir: " + lab.state.string() + "\n" +
         "http:\n  listen: \"127.0.0.1:" + std::to_string(lab.http_port) + "\"\n" +
         "endpoints:\n  - target: \"127.0.0.1:" + std::to_string(lab.broker_port) +
         "\"\n    interval: 5m\n    client_cert: " + (lab.client / "probe.cert.pem").string() +
         "\n    client_key: " + (lab.client / "probe.key.pem").string() + "\n" +
         "issuers:\n  - name: pebble\n    acme:\n      directory: " + pebble.directory_url() +
         "\n      contact: [\"mailto:ops@broker.test\"]\n      trust: [" +
         pebble.tls_root().string() + "]\n      chain_trust: [" + pebble.issuing_root().string() +
         "]\n      order_timeout: 1m\n" + extra + "      challenge: " + challenge + "\n" +
         "managed:\n  - name: broker\n    issuer: pebble\n    subject: /CN=broker.test\n    "
         "sans: " +
         sans + "\n    cert: " + (lab.certs / "server.cert.pem").string() +
         "\n    key: " + (lab.certs / "server.key.pem").string() +
         "\n    chain: " + (lab.certs / "server.chain.pem").string() + "\n" +
         (reload.empty() ? ""
                         : "    reload: " + reload + "\n    verify_endpoint: \"127.0.0.1:" +
                               std::to_string(lab.broker_port) + "\"\n");
}

// The deployed chain verifies to pebble's issuing root (openssl as the oracle).
std::string chain_problem(const RenewLab& lab, const fs::path& root) {
  const auto chain = (lab.certs / "server.chain.pem").string();
  auto v =
      testing::run({"openssl", "verify", "-CAfile", root.string(), "-untrusted", chain, chain});
  return v.exit_code == 0 ? "" : v.out + v.err;
}

// A dns-01 hook: `hook set NAME VALUE` / `hook clear NAME` against challtestsrv's management
// API. While the file `wrong` exists next to it, it publishes a wrong value.
fs::path write_dns_hook(const fs::path& dir, int management_port) {
  const auto hook = dir / "dns-hook";
  const std::string api = "http://127.0.0.1:" + std::to_string(management_port);
  testing::write_file(
      hook,
      "#!/bin/sh\nset -e\nvalue=\"$3\"\n[ -e '" + (dir / "wrong").string() +
          "' ] && value=not-the-key-authorization\ncase \"$1\" in\n"
          "  set) curl -sSf --max-time 10 -d "
          "\"{\\\"host\\\":\\\"$2\\\",\\\"value\\\":\\\"$value\\\"}\" " +
          api + "/set-txt ;;\n  clear) curl -sSf --max-time 10 -d \"{\\\"host\\\":\\\"$2\\\"}\" " +
          api +
          "/clear-txt ;;\n  *) echo \"usage: $0 set|clear NAME [VALUE]\" >&2; exit 2 ;;\nesac\n");
  fs::permissions(hook, fs::perms::owner_all);
  return hook;
}

std::string dns_challenge(const fs::path& hook) {
  return "{type: dns-01, set: [" + hook.string() + ", set, \"{name}\", \"{value}\"], clear: [" +
         hook.string() + ", clear, \"{name}\"]}";
}

std::string served_issuer(const RenewLab& lab) {
  return testing::sh("openssl s_client -connect 127.0.0.1:" + std::to_string(lab.broker_port) +
                         " -cert " + (lab.client / "probe.cert.pem").string() + " -key " +
                         (lab.client / "probe.key.pem").string() +
                         " </dev/null 2>/dev/null | openssl x509 -noout -issuer",
                     std::chrono::seconds(15))
      .out;
}

// After a failure is fixed: the agent's retry succeeds, mosquitto serves the new certificate and
// renewal.failed is cleared.
void expect_renewed_and_served(RenewLab& lab, agent_test::AgentProcess& agent,
                               const std::string& served) {
  REQUIRE(testing::eventually([&] { return renew_test::renewals(agent.metrics(), "success") >= 1; },
                              std::chrono::seconds(40)));
  const auto renewed = agent_test::openssl_serial(lab.certs / "server.cert.pem");
  CHECK(renewed != served);
  CHECK(lab.served_serial() == renewed);
  CHECK(testing::eventually(
      [&] {
        return agent_test::series(agent.metrics(), "certwatch_finding", {"id=\"renewal.failed\""})
            .empty();
      },
      std::chrono::seconds(5)));
}

}  // namespace

TEST_CASE(
    "acme: http-01 answered by the agent's listener issues the mosquitto certificate, a renewal "
    "changes it",
    "[integration][acme][mosquitto]") {
  if (!testing::have_program("mosquitto") || !testing::have_program("pebble"))
    FAIL("mosquitto or pebble missing");
  testing::TempDir tmp;
  RenewLab lab(tmp.path());
  const int listen_port = testing::free_port();
  pebble_test::Pebble pebble(tmp.path(), with_dns(listen_port));
  const auto root = pebble.issuing_root();
  const auto config = lab.write_config(acme_config(
      lab, pebble, "{type: http-01, listen: \"127.0.0.1:" + std::to_string(listen_port) + "\"}",
      "[DNS:broker.test]", lab.signal_reload()));
  auto first = lab.renew(config);
  INFO(first.out << first.err << testing::read_file(pebble.log()));
  REQUIRE(first.exit_code == 0);
  CHECK(chain_problem(lab, root).empty());
  CHECK((testing::mode_of(lab.state / "acme/pebble/account.key") & 0777) == 0600);
  CHECK((testing::mode_of(lab.certs / "server.key.pem") & 0777) == 0600);
  CHECK_FALSE(testing::wait_for_port(listen_port,
                                     std::chrono::milliseconds(200)));  // closed after the order

  const auto account_key = testing::read_file(lab.state / "acme/pebble/account.key");
  auto broker = lab.start_broker();
  const auto issued = agent_test::openssl_serial(lab.certs / "server.cert.pem");
  CHECK(lab.served_serial() == issued);
  CHECK(served_issuer(lab).find("Pebble Intermediate") != std::string::npos);

  // A renewal: a new order with the same account, mosquitto reloaded, the new serial served.
  auto second = lab.renew(config, {"--force"});
  INFO(second.out << second.err);
  REQUIRE(second.exit_code == 0);
  const auto renewed = agent_test::openssl_serial(lab.certs / "server.cert.pem");
  CHECK(renewed != issued);
  CHECK(lab.served_serial() == renewed);
  CHECK(chain_problem(lab, root).empty());
  // A client that trusts pebble's root connects (--insecure: the broker is reached by IP, the
  // certificate names broker.test).
  CHECK(testing::run(
            {"mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(lab.broker_port), "--cafile",
             root.string(), "--insecure", "--cert", (lab.client / "probe.cert.pem").string(),
             "--key", (lab.client / "probe.key.pem").string(), "-t", "certwatch/acme", "-m",
             "renewed", "-q", "1"},
            std::chrono::seconds(15))
            .exit_code == 0);
  CHECK(testing::read_file(lab.state / "acme/pebble/account.key") ==
        account_key);  // the same account

  // The ledger under state_dir records both, the first superseded, the directory as their CA.
  auto ledger = certwatch::pki::Ledger::open(lab.state / "acme/pebble/ledger.sqlite");
  REQUIRE(ledger.ok());
  auto rows = ledger->list();
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 2);
  CHECK((*rows)[0].ca == pebble.directory_url());
  CHECK((*rows)[0].name == "broker");
  CHECK((*rows)[0].status == "valid");
  CHECK(agent_test::strip_zeros((*rows)[0].serial) == renewed);
  CHECK((*rows)[1].status == "superseded");
}

TEST_CASE(
    "acme: dns-01 through a hook, a rejected challenge fails with pebble's reason and touches "
    "nothing live",
    "[integration][acme][mosquitto]") {
  if (!testing::have_program("mosquitto") || !testing::have_program("pebble"))
    FAIL("mosquitto or pebble missing");
  testing::TempDir tmp;
  RenewLab lab(tmp.path());
  pebble_test::Pebble pebble(tmp.path(), with_dns(testing::free_port()));
  const auto hook = write_dns_hook(tmp.path(), pebble.challtestsrv_management_port());
  const auto config = lab.write_config(
      acme_config(lab, pebble, dns_challenge(hook), "[DNS:broker.test]", lab.signal_reload()));
  auto first = lab.renew(config);
  INFO(first.out << first.err << testing::read_file(pebble.log()));
  REQUIRE(first.exit_code == 0);  // (b) issued through dns-01
  CHECK(chain_problem(lab, pebble.issuing_root()).empty());
  auto broker = lab.start_broker();
  const auto live_cert = testing::read_file(lab.certs / "server.cert.pem");
  const auto live_key = testing::read_file(lab.certs / "server.key.pem");
  const auto served = lab.served_serial();
  REQUIRE(served == agent_test::openssl_serial(lab.certs / "server.cert.pem"));

  // (c) The hook publishes a wrong value; the agent is due at once (a SAN was added).
  testing::write_file(tmp / "wrong", "");
  // agent.renew_retry 3 s instead of the default minute, so the retry comes within seconds.
  auto due_text = acme_config(lab, pebble, dns_challenge(hook),
                              "[DNS:broker.test, DNS:mqtt.broker.test]", lab.signal_reload());
  due_text.insert(due_text.find("http:"), "  renew_retry: 3s\n");
  const auto due = lab.write_config(due_text);
  agent_test::AgentProcess agent(tmp.path(), due, lab.http_port);
  REQUIRE(agent.wait_ready());
  REQUIRE(testing::eventually(
      [&] {
        return !agent_test::series(agent.metrics(), "certwatch_finding", {"id=\"renewal.failed\""})
                    .empty();
      },
      std::chrono::seconds(60)));
  const auto log = agent.log();
  INFO(log);
  // pebble's problem document, as the agent logs it.
  CHECK(log.find("acme: unauthorized at challenge") != std::string::npos);
  CHECK(log.find("next attempt in 3 s") != std::string::npos);  // backoff
  CHECK(testing::read_file(lab.certs / "server.cert.pem") == live_cert);
  CHECK(testing::read_file(lab.certs / "server.key.pem") == live_key);
  CHECK(lab.served_serial() == served);

  // Fixed: the retry after the backoff succeeds and mosquitto serves the new certificate.
  fs::remove(tmp / "wrong");
  expect_renewed_and_served(lab, agent, served);
  // The deployed chain is judged against chain_trust (pebble's root), not the system bundle.
  const auto m = agent.metrics();
  CHECK(!agent_test::series(m, "certwatch_cert_not_after_timestamp_seconds",
                            {"target=\"managed/broker\""})
             .empty());
  CHECK(agent_test::series(m, "certwatch_finding", {"managed/broker", "chain."}).empty());
  const auto valid = agent_test::series(m, "certwatch_chain_valid", {"managed/broker"});
  REQUIRE(valid.size() == 1);
  CHECK(agent_test::value_of(valid.front()) == 1);
  // The ACME ledger's rows of the managed entry are its managed place, not ledger targets.
  CHECK(agent_test::series(agent.metrics(), "certwatch_cert_not_after_timestamp_seconds",
                           {"source=\"ledger\"", "target=\"pebble/broker/"})
            .empty());
}

TEST_CASE("acme: http-01 through a webroot served by nginx", "[integration][acme]") {
  if (!testing::have_program("pebble") || !fs::exists("/usr/sbin/nginx"))
    FAIL("pebble or nginx missing");
  testing::TempDir tmp;
  RenewLab lab(tmp.path());
  const int web_port = testing::free_port();
  const auto www = tmp / "www";
  fs::create_directories(tmp / "nginx");
  testing::write_file(tmp / "nginx/nginx.conf",
                      // The workers run as we do: the temp dirs are ours only.
                      "daemon off;\nuser " + mosquitto_test::current_user() + ";\npid " +
                          (tmp / "nginx/nginx.pid").string() + ";\nerror_log " +
                          (tmp / "nginx/error.log").string() +
                          ";\nevents {}\nhttp {\n  access_log " +
                          (tmp / "nginx/access.log").string() + ";\n  client_body_temp_path " +
                          (tmp / "nginx").string() + ";\n  server {\n    listen 127.0.0.1:" +
                          std::to_string(web_port) + ";\n    root " + www.string() + ";\n  }\n}\n");
  testing::Process nginx({"/usr/sbin/nginx", "-c", (tmp / "nginx/nginx.conf").string(), "-p",
                          (tmp / "nginx").string()},
                         tmp / "nginx/out.log");
  INFO(testing::read_file(tmp / "nginx/out.log") << testing::read_file(tmp / "nginx/error.log"));
  REQUIRE(testing::wait_for_port(web_port, std::chrono::seconds(10)));
  pebble_test::Pebble pebble(tmp.path(), with_dns(web_port));
  const auto config = lab.write_config(acme_config(
      lab, pebble, "{type: http-01, webroot: " + www.string() + "}", "[DNS:broker.test]", ""));
  auto r = lab.renew(config);
  INFO(r.out << r.err << testing::read_file(pebble.log()));
  REQUIRE(r.exit_code == 0);
  CHECK(chain_problem(lab, pebble.issuing_root()).empty());
  // nginx served the token to pebble, and the file is gone again.
  CHECK(testing::read_file(tmp / "nginx/access.log").find("GET /.well-known/acme-challenge/") !=
        std::string::npos);
  CHECK(fs::is_empty(www / ".well-known/acme-challenge"));
}

TEST_CASE("acme: the EAB key file of the config registers the account where pebble requires EAB",
          "[integration][acme]") {
  if (!testing::have_program("pebble")) FAIL("pebble missing");
  testing::TempDir tmp;
  RenewLab lab(tmp.path());
  const int listen_port = testing::free_port();
  auto options = with_dns(listen_port);
  options.eab_required = true;
  options.eab_keys = {{pebble_test::kExampleEabKid, pebble_test::kExampleEabKey}};
  pebble_test::Pebble pebble(tmp.path(), options);
  const std::string challenge =
      "{type: http-01, listen: \"127.0.0.1:" + std::to_string(listen_port) + "\"}";
  // Without EAB pebble refuses the account, and says why.
  const auto plain = lab.write_config(acme_config(lab, pebble, challenge, "[DNS:broker.test]", ""));
  auto refused = lab.renew(plain);
  INFO(refused.out << refused.err);
  CHECK(refused.exit_code == 2);
  CHECK(refused.err.find("externalAccountRequired") != std::string::npos);
  CHECK_FALSE(fs::exists(lab.certs / "server.cert.pem"));
  // With the key id and the MAC key file (base64url, a trailing newline as editors leave it).
  testing::write_file(tmp / "eab.key", std::string(pebble_test::kExampleEabKey) + "\n");
  const auto config = lab.write_config(
      acme_config(lab, pebble, challenge, "[DNS:broker.test]", "",
                  "      eab: {key_id: " + std::string(pebble_test::kExampleEabKid) +
                      ", hmac_key_file: " + (tmp / "eab.key").string() + "}\n"));
  auto r = lab.renew(config);
  INFO(r.out << r.err << testing::read_file(pebble.log()));
  REQUIRE(r.exit_code == 0);
  CHECK(chain_problem(lab, pebble.issuing_root()).empty());
  CHECK((r.out + r.err).find(pebble_test::kExampleEabKey) == std::string::npos);  // never logged
}

TEST_CASE(
    "acme: a wrong directory, a closed port and an untrusted ACME server each end in "
    "renewal.failed with the reason and a backoff, nothing live touched, then a success",
    "[integration][acme][mosquitto]") {
  if (!testing::have_program("mosquitto") || !testing::have_program("pebble"))
    FAIL("mosquitto or pebble missing");
  testing::TempDir tmp;
  RenewLab lab(tmp.path());
  // pebble refuses 30 % of good nonces: every order below goes through badNonce retries.
  auto options = with_dns(testing::free_port());
  options.env.push_back("PEBBLE_WFE_NONCEREJECT=30");
  pebble_test::Pebble pebble(tmp.path(), options);
  const auto hook = write_dns_hook(tmp.path(), pebble.challtestsrv_management_port());
  auto first = lab.renew(lab.write_config(
      acme_config(lab, pebble, dns_challenge(hook), "[DNS:broker.test]", lab.signal_reload())));
  INFO(first.out << first.err);
  REQUIRE(first.exit_code == 0);
  auto broker = lab.start_broker();
  const auto live_cert = testing::read_file(lab.certs / "server.cert.pem");
  const auto live_key = testing::read_file(lab.certs / "server.key.pem");
  const auto served = lab.served_serial();

  // Due at once (a SAN was added), retried 2 s after a failure.
  auto good = acme_config(lab, pebble, dns_challenge(hook),
                          "[DNS:broker.test, DNS:mqtt.broker.test]", lab.signal_reload());
  good.insert(good.find("http:"), "  renew_retry: 2s\n");
  const auto replaced = [&](std::string from, const std::string& to) {
    std::string text = good;
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    return text.replace(at, from.size(), to);
  };
  const int closed = testing::free_port();
  struct Fault {
    std::string name, config, reason;
  };
  const std::vector<Fault> faults{
      {"wrong directory path",
       replaced("directory: " + pebble.directory_url(),
                "directory: " + pebble.base_url() + "/no-such-directory"),
       "acme: HTTP 404 at directory"},
      {"closed port",
       replaced("directory: " + pebble.directory_url(),
                "directory: https://127.0.0.1:" + std::to_string(closed) + "/dir"),
       "Connection refused"},
      {"untrusted ACME server",
       replaced("      trust: [" + pebble.tls_root().string(),
                "      trust: [" + pebble.issuing_root().string()),
       "unable to get local issuer certificate"},
  };
  const auto config = lab.write_config(faults[0].config);
  agent_test::AgentProcess agent(tmp.path(), config, lab.http_port);
  REQUIRE(agent.wait_ready());
  for (const auto& fault : faults) {
    INFO(fault.name);
    lab.write_config(fault.config);
    REQUIRE(agent.process().signal(SIGHUP));
    // Two failures with this reason, each with its next attempt: the backoff retried it.
    const bool retried = testing::eventually(
        [&] {
          std::istringstream log(agent.log());
          int n = 0;
          for (std::string line; std::getline(log, line);)
            if (line.find("next attempt in") != std::string::npos &&
                line.find(fault.reason) != std::string::npos)
              ++n;
          return n >= 2;
        },
        std::chrono::seconds(30));
    INFO(agent.log());
    REQUIRE(retried);
    CHECK(!agent_test::series(agent.metrics(), "certwatch_finding", {"id=\"renewal.failed\""})
               .empty());
    CHECK(testing::read_file(lab.certs / "server.cert.pem") == live_cert);
    CHECK(testing::read_file(lab.certs / "server.key.pem") == live_key);
    CHECK(lab.served_serial() == served);
  }
  lab.write_config(good);
  REQUIRE(agent.process().signal(SIGHUP));
  expect_renewed_and_served(lab, agent, served);
}
