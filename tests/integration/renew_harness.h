// Shared by the renewal integration tests (issue #11): a PKI made with `certwatch pki`, a
// client certificate for mosquitto_pub and the probes, a config with one managed server
// certificate for a Mosquitto on a fresh loopback port, and a Mosquitto started on the files
// the agent deployed (pid file for SIGHUP). Header-only like agent_harness.h.
#pragma once

#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <regex>
#include <nlohmann/json.hpp>
#include <string>

#include "integration/agent_harness.h"
#include "integration/mosquitto_broker.h"
#include "integration/pki_cli.h"
#include "support/fixtures.h"

namespace renew_test {

namespace fs = std::filesystem;

// The ASan+UBSan build runs 3-5x slower: the windows a test holds open, and its bounds, grow.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr int kSlow = 4;
#else
inline constexpr int kSlow = 1;
#endif

// "" when the key and the certificate pair (openssl compares the public keys), else what is wrong.
inline std::string pairing_problem(const fs::path& key, const fs::path& cert) {
  auto kpub = testing::run({"openssl", "pkey", "-in", key.string(), "-pubout"});
  auto cpub = testing::run({"openssl", "x509", "-in", cert.string(), "-noout", "-pubkey"});
  if (kpub.exit_code != 0 || cpub.exit_code != 0) return "unreadable key or certificate";
  return kpub.out == cpub.out ? "" : "key does not match certificate";
}

// `chattr +i dir` for the scope; `on` is false where the file system has no such attribute.
struct Immutable {
  fs::path dir;
  bool on = false;
  explicit Immutable(fs::path d) : dir(std::move(d)) {
    on = testing::run({"chattr", "+i", dir.string()}).exit_code == 0;
  }
  ~Immutable() { off(); }
  void off() {
    if (on) testing::run({"chattr", "-i", dir.string()});
    on = false;
  }
  Immutable(const Immutable&) = delete;
  Immutable& operator=(const Immutable&) = delete;
};

struct RenewLab {
  fs::path dir, pki, certs, state, client;
  int broker_port = 0, http_port = 0;
  fs::path pid_file;

  explicit RenewLab(const fs::path& d)
      : dir(d), pki(d / "pki"), certs(d / "certs"), state(d / "state"), client(d / "client"),
        broker_port(testing::free_port()), http_port(testing::free_port()), pid_file(d / "mosquitto.pid") {
    pki_cli::ok({"pki", "init", "--dir", pki.string(), "--subject", "/CN=Renew Lab Root"});
    pki_cli::ok({"pki", "ca", "--dir", pki.string(), "--name", "server-ca", "--subject", "/CN=Renew Lab Server CA"});
    pki_cli::ok({"pki", "issue", "--dir", pki.string(), "--ca", "root-ca", "--profile", "client", "--name", "probe",
                 "--subject", "/CN=probe", "--out", client.string()});
    fs::create_directories(certs);
  }

  // The config: one managed certificate "broker" for the Mosquitto at broker_port; `reload`
  // is the YAML flow map of the reload ("" none); `verify`: check the broker after reloads.
  std::string config(const std::string& validity, const std::string& renew_before, const std::string& reload,
                     bool verify = true) const {
    return "agent:\n  state_dir: " + state.string() + "\n" +
           "http:\n  listen: \"127.0.0.1:" + std::to_string(http_port) + "\"\n" +
           "endpoints:\n  - target: \"127.0.0.1:" + std::to_string(broker_port) + "\"\n    interval: 5m\n" +
           "    client_cert: " + (client / "probe.cert.pem").string() + "\n    client_key: " +
           (client / "probe.key.pem").string() + "\n" +
           "issuers:\n  - {name: server-ca, pki_dir: " + pki.string() + "}\n" +
           "managed:\n  - name: broker\n    issuer: server-ca\n    subject: /CN=mqtt.lab.local\n" +
           "    sans: [DNS:mqtt.lab.local, IP:127.0.0.1]\n    validity: " + validity + "\n" +
           (renew_before.empty() ? "" : "    renew_before: " + renew_before + "\n") +
           "    cert: " + (certs / "server.cert.pem").string() + "\n    key: " + (certs / "server.key.pem").string() +
           "\n    chain: " + (certs / "server.chain.pem").string() + "\n" +
           (reload.empty() ? "" : "    reload: " + reload + "\n") +
           (verify ? "    verify_endpoint: \"127.0.0.1:" + std::to_string(broker_port) + "\"\n" : "");
  }
  // `text` (a config()) with the key in `keys` instead of beside the certificate.
  std::string split_key(const fs::path& keys, std::string text) const {
    const auto from = (certs / "server.key.pem").string();
    text.replace(text.find(from), from.size(), (keys / "server.key.pem").string());
    return text;
  }
  std::string signal_reload() const { return "{signal: HUP, pid_file: " + pid_file.string() + "}"; }

  fs::path write_config(const std::string& text) const {
    const auto p = dir / "certwatch.yaml";
    testing::write_file(p, text);
    return p;
  }

  // Mosquitto on the deployed files, client certificates required, writing its pid file.
  std::unique_ptr<testing::Process> start_broker() const {
    const auto conf = dir / "mosquitto.conf";
    testing::write_file(conf, "user " + mosquitto_test::current_user() + "\npersistence false\npid_file " +
                                  pid_file.string() + "\nlog_dest file " + (dir / "mosquitto.log").string() +
                                  "\nlog_type all\nlistener " + std::to_string(broker_port) +
                                  " 127.0.0.1\nallow_anonymous true\nrequire_certificate true\ncafile " +
                                  (pki / "ca-bundle.pem").string() + "\ncertfile " +
                                  (certs / "server.chain.pem").string() + "\nkeyfile " +
                                  (certs / "server.key.pem").string() + "\n");
    auto p = std::make_unique<testing::Process>(std::vector<std::string>{"mosquitto", "-c", conf.string()},
                                                dir / "mosquitto.out");
    REQUIRE(testing::wait_for_port(broker_port, std::chrono::seconds(10)));
    REQUIRE(testing::eventually([&] { return fs::exists(pid_file); }, std::chrono::seconds(5)));
    return p;
  }

  // The serial of the leaf the broker serves now (openssl s_client as the oracle).
  std::string served_serial() const {
    auto r = testing::sh("openssl s_client -connect 127.0.0.1:" + std::to_string(broker_port) +
                             " -cert " + (client / "probe.cert.pem").string() + " -key " +
                             (client / "probe.key.pem").string() +
                             " </dev/null 2>/dev/null | openssl x509 -noout -serial",
                         std::chrono::seconds(15));
    auto s = r.out.substr(r.out.find('=') + 1);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return agent_test::strip_zeros(s);
  }

  // `certwatch renew -c CONFIG broker ARGS...` with `env`.
  testing::RunResult renew(const fs::path& config, std::vector<std::string> args = {},
                           const std::vector<std::string>& env = {}) const {
    std::vector<std::string> argv{"renew", "-c", config.string(), "broker"};
    argv.insert(argv.end(), args.begin(), args.end());
    return pki_cli::certwatch(argv, env);
  }

  // The live set is whole: the key matches the certificate, and the chain file (leaf first)
  // verifies to the root (openssl as the oracle). "" when it is, else what is wrong.
  std::string live_set_problem() const {
    const auto key = (certs / "server.key.pem").string(), cert = (certs / "server.cert.pem").string(),
               chain = (certs / "server.chain.pem").string();
    if (auto p = pairing_problem(key, cert); !p.empty()) return p;
    if (agent_test::openssl_serial(chain) != agent_test::openssl_serial(certs / "server.cert.pem"))
      return "chain's leaf is not the certificate";
    auto v = testing::run({"openssl", "verify", "-CAfile", (pki / "ca-bundle.pem").string(), "-untrusted", chain, chain});
    if (v.exit_code != 0) return "chain does not verify: " + v.out + v.err;
    return "";
  }

  testing::RunResult publish(const std::string& message) const {
    return testing::run({"mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(broker_port), "--cafile",
                         (pki / "ca-bundle.pem").string(), "--cert", (client / "probe.cert.pem").string(), "--key",
                         (client / "probe.key.pem").string(), "-t", "certwatch/renew", "-m", message, "-q", "1",
                         "--id", "renew-" + message},
                        std::chrono::seconds(15));
  }
};

// A serial as the tests compare them: upper-case hex without leading zeros.
inline std::string comparable_serial(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return agent_test::strip_zeros(s);
}

// The ledger's rows of "broker": serial -> status; none when it cannot be read.
inline std::map<std::string, std::string> ledger(const RenewLab& lab) {
  std::map<std::string, std::string> out;
  // Polled while a renewal writes the ledger: a failed read is an empty answer, not an abort.
  const auto r =
      pki_cli::certwatch({"pki", "list", "--dir", lab.pki.string(), "--ca", "server-ca", "--json"});
  const auto rows = nlohmann::json::parse(r.out, nullptr, false);
  if (r.exit_code != 0 || !rows.is_array()) return out;
  for (const auto& row : rows)
    if (row["name"] == "broker")
      out[comparable_serial(row["serial"].get<std::string>())] = row["status"].get<std::string>();
  return out;
}

// The serials the ledger calls current (status valid) for "broker".
inline std::vector<std::string> valid_rows(const RenewLab& lab) {
  std::vector<std::string> out;
  for (const auto& [serial, status] : ledger(lab))
    if (status == "valid") out.push_back(serial);
  return out;
}

// The serial of the live certificate file.
inline std::string disk_serial(const RenewLab& lab) {
  return comparable_serial(agent_test::openssl_serial(lab.certs / "server.cert.pem"));
}

// The serial a successful `certwatch renew` printed ("NAME: renewed: serial X, ..."), "" if none.
inline std::string printed_serial(const std::string& out) {
  std::smatch m;
  static const std::regex re("renewed: serial ([0-9A-Fa-f]+)");
  return std::regex_search(out, m, re) ? comparable_serial(m[1].str()) : "";
}

// Sum of certwatch_renewals_total{result=...} in a /metrics body.
inline double renewals(const std::string& metrics, const std::string& result) {
  for (const auto& line : agent_test::series(metrics, "certwatch_renewals_total"))
    if (agent_test::label_value(line, "result") == result) return agent_test::value_of(line);
  return 0;
}

}  // namespace renew_test
