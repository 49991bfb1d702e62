// A real pebble (Debian's RFC 8555 test server) on free 127.0.0.1 ports for the ACME tests, with
// a TLS certificate made by `certwatch pki` (IP:127.0.0.1 and DNS:localhost), and optionally
// pebble-challtestsrv as its DNS (and challenge responder). PEBBLE_VA_NOSLEEP=1 always, so an
// order completes in well under a second. Killed and reaped on destruction (testing::Process).
//
//   pebble_test::Pebble pebble(tmp.path(), pebble_test::with_env({"PEBBLE_VA_ALWAYS_VALID=1"}));
//   settings.directory_url = pebble.directory_url();
//   settings.server_trust = {pebble.tls_root()};
//   pebble.issuing_roots();  // pebble's own issuing root (management /roots/0), for chain checks
#pragma once

#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "integration/pki_cli.h"
#include "support/fixtures.h"

namespace pebble_test {

namespace fs = std::filesystem;

struct PebbleOptions {
  std::vector<std::string> env;                 // extra "NAME=value" for pebble
  bool eab_required = false;                    // externalAccountBindingRequired
  std::map<std::string, std::string> eab_keys;  // externalAccountMACKeys: kid -> base64url key
  bool challtestsrv = false;                    // start pebble-challtestsrv; pebble uses its DNS
  int http_port = 0;                            // where pebble validates http-01 (0: a free port)
};

// Options with extra environment only (designated initializers that leave members out trip
// -Wmissing-field-initializers).
inline PebbleOptions with_env(std::vector<std::string> env) {
  PebbleOptions o;
  o.env = std::move(env);
  return o;
}

// pebble's example EAB key
// (/usr/share/doc/pebble/examples/pebble-config-external-account-bindings.json).
inline constexpr const char* kExampleEabKid = "kid-1";
inline constexpr const char* kExampleEabKey =
    "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";

class Pebble {
 public:
  explicit Pebble(const fs::path& dir, PebbleOptions options = {})
      : dir_(dir / "pebble"), options_(std::move(options)) {
    fs::create_directories(dir_);
    port_ = testing::free_port();
    management_port_ = testing::free_port();
    http_port_ = options_.http_port != 0 ? options_.http_port : testing::free_port();
    tls_port_ = testing::free_port();
    make_tls_certificate();
    write_config();
    if (options_.challtestsrv) start_challtestsrv();
    start();
  }

  Pebble(const Pebble&) = delete;
  Pebble& operator=(const Pebble&) = delete;

  std::string directory_url() const {
    return "https://127.0.0.1:" + std::to_string(port_) + "/dir";
  }
  std::string base_url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  // The root that signed pebble's own TLS certificate: the ACME client's server trust.
  fs::path tls_root() const { return dir_ / "tls-pki" / "ca-bundle.pem"; }
  int port() const { return port_; }
  int http_port() const { return http_port_; }  // http-01 validations go to <identifier>:http_port
  int dns_port() const { return dns_port_; }    // challtestsrv's mock DNS (0 without it)
  int challtestsrv_management_port() const { return challtestsrv_management_port_; }
  fs::path log() const { return dir_ / "pebble.log"; }

  // pebble's issuing root and intermediate (management /roots/0, /intermediates/0), written
  // to files; they change with every pebble start.
  fs::path issuing_root() { return fetch_management("/roots/0", "issuing-root.pem"); }
  fs::path issuing_intermediate() {
    return fetch_management("/intermediates/0", "issuing-intermediate.pem");
  }

  // SIGKILL, reaped: the server vanishes mid-whatever (no graceful shutdown).
  void kill() {
    if (process_) {
      process_->signal(SIGKILL);
      process_->wait(std::chrono::seconds(10));
      process_.reset();
    }
  }
  // A fresh pebble on the same ports (pebble keeps nothing: orders and accounts are gone).
  void restart() {
    kill();
    start();
  }

  // Sets a TXT record in challtestsrv's mock DNS (challtestsrv only).
  bool set_txt(const std::string& fqdn, const std::string& value) {
    return challtestsrv_post("/set-txt", "{\"host\":\"" + fqdn + "\",\"value\":\"" + value + "\"}");
  }
  // Serves an http-01 response from challtestsrv (challtestsrv without options.http_port).
  bool add_http01(const std::string& token, const std::string& key_authorization) {
    return challtestsrv_post(
        "/add-http01", "{\"token\":\"" + token + "\",\"content\":\"" + key_authorization + "\"}");
  }
  bool clear_txt(const std::string& fqdn) {
    return challtestsrv_post("/clear-txt", "{\"host\":\"" + fqdn + "\"}");
  }

 private:
  void make_tls_certificate() {
    const std::string pki = (dir_ / "tls-pki").string();
    pki_cli::ok({"pki", "init", "--dir", pki, "--subject", "/CN=Pebble TLS Test Root"});
    pki_cli::ok({"pki", "issue", "--dir", pki, "--ca", "root-ca", "--profile", "server", "--name",
                 "pebble", "--subject", "/CN=pebble", "--san", "IP:127.0.0.1", "--san",
                 "DNS:localhost", "--out", (dir_ / "tls").string()});
  }

  void write_config() {
    std::string keys;
    for (const auto& [kid, key] : options_.eab_keys)
      keys += (keys.empty() ? "" : ",") + ("\"" + kid + "\":\"" + key + "\"");
    testing::write_file(
        dir_ / "pebble.json",
        "{\"pebble\":{\"listenAddress\":\"127.0.0.1:" + std::to_string(port_) +
            "\",\"managementListenAddress\":\"127.0.0.1:" + std::to_string(management_port_) +
            "\",\"certificate\":\"" + (dir_ / "tls" / "pebble.cert.pem").string() +
            "\",\"privateKey\":\"" + (dir_ / "tls" / "pebble.key.pem").string() +
            "\",\"httpPort\":" + std::to_string(http_port_) +
            ",\"tlsPort\":" + std::to_string(tls_port_) +
            ",\"ocspResponderURL\":\"\",\"externalAccountBindingRequired\":" +
            (options_.eab_required ? "true" : "false") + ",\"externalAccountMACKeys\":{" + keys +
            "}}}\n");
  }

  void start_challtestsrv() {
    dns_port_ = testing::free_port();
    challtestsrv_management_port_ = testing::free_port();
    const std::string http01 =
        options_.http_port != 0 ? "" : "127.0.0.1:" + std::to_string(http_port_);
    challtestsrv_ = std::make_unique<testing::Process>(
        std::vector<std::string>{
            "pebble-challtestsrv", "-dns01", "127.0.0.1:" + std::to_string(dns_port_), "-http01",
            http01, "-https01", "", "-tlsalpn01", "", "-management",
            "127.0.0.1:" + std::to_string(challtestsrv_management_port_), "-defaultIPv6", ""},
        dir_ / "challtestsrv.log");
    INFO("pebble-challtestsrv did not start: " << testing::read_file(dir_ / "challtestsrv.log"));
    REQUIRE(testing::wait_for_port(challtestsrv_management_port_, std::chrono::seconds(10)));
  }

  void start() {
    std::vector<std::string> argv{"pebble", "-config", (dir_ / "pebble.json").string()};
    if (dns_port_ != 0)
      argv.insert(argv.end(), {"-dnsserver", "127.0.0.1:" + std::to_string(dns_port_)});
    std::vector<std::string> env{"PEBBLE_VA_NOSLEEP=1"};
    env.insert(env.end(), options_.env.begin(), options_.env.end());
    process_ = std::make_unique<testing::Process>(argv, log(), env);
    const bool up = testing::wait_for_port(port_, std::chrono::seconds(15)) &&
                    testing::wait_for_port(management_port_, std::chrono::seconds(5));
    INFO("pebble did not start: " << testing::read_file(log()));
    REQUIRE(up);
  }

  fs::path fetch_management(const std::string& path, const std::string& file) {
    const fs::path out = dir_ / file;
    auto r = testing::run({"curl", "-sSf", "--max-time", "10", "--cacert", tls_root().string(),
                           "-o", out.string(),
                           "https://127.0.0.1:" + std::to_string(management_port_) + path});
    INFO("curl " << path << ": " << r.err);
    REQUIRE(r.exit_code == 0);
    return out;
  }

  bool challtestsrv_post(const std::string& path, const std::string& body) {
    REQUIRE(challtestsrv_);
    auto r =
        testing::run({"curl", "-sSf", "--max-time", "10", "-d", body,
                      "http://127.0.0.1:" + std::to_string(challtestsrv_management_port_) + path});
    return r.exit_code == 0;
  }

  fs::path dir_;
  PebbleOptions options_;
  int port_ = 0, management_port_ = 0, http_port_ = 0, tls_port_ = 0, dns_port_ = 0,
      challtestsrv_management_port_ = 0;
  std::unique_ptr<testing::Process> challtestsrv_;
  std::unique_ptr<testing::Process> process_;
};

}  // namespace pebble_test
