// The configuration schema: plain structs, one per YAML section (../shared/DESIGN.md, "Config").
// config/loader.h fills them from one YAML file and validates everything; a Config that exists
// is valid (paths absolute and normalised, enums checked, cross references resolved), so code
// using it does not re-validate. Every struct compares with == so that the agent can tell what
// changed on SIGHUP (e.g. `old.watch != fresh.watch` -> re-arm the watcher).
//
// Units: durations are std::chrono::seconds, except the sub-second ones that say
// milliseconds. Paths are absolute (relative ones in the file are resolved against the
// config file's directory) and lexically normalised.
//
// Thread-safety: plain values; share a const Config freely.
#pragma once

#include <array>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pki/issue/profile.h"
#include "pki/judge/finding.h"
#include "pki/judge/judge_options.h"
#include "pki/x509/certificate.h"
#include "pki/x509/keygen.h"

namespace certwatch::config {

using Seconds = std::chrono::seconds;
using Milliseconds = std::chrono::milliseconds;

// `agent:`
struct AgentConfig {
  std::filesystem::path state_dir{"/var/lib/certwatch"};
  Seconds rescan_interval{Seconds{600}};  // full rescan, the safety net behind inotify
  // Caps of the lifetime-relative expiry rule (pki::Thresholds, as the judge takes them);
  // the loader guarantees critical < warning.
  pki::Thresholds thresholds;
  Milliseconds debounce{Milliseconds{200}};  // quiet time after the last inotify event
  uint32_t probe_concurrency = 64;  // endpoint probes in flight at most (each holds a socket)
  // First retry after a failed renewal; it doubles with each failure in a row, up to 1 h.
  Seconds renew_retry{Seconds{60}};
  // How far a freshly issued leaf's notBefore may lie ahead of this host's clock and still be
  // deployed: a CA that does not back-date (pebble) or runs a little ahead is not refused for
  // it (../shared/REFERENCE.md, clock skew). Beyond it the set is refused as not yet valid.
  Seconds issued_clock_skew{Seconds{300}};
  bool operator==(const AgentConfig&) const = default;
};

// "host:port" as written, and split. host is an IP literal (IPv6 without brackets);
// "localhost" is accepted and stored as 127.0.0.1.
struct ListenAddress {
  std::string host{"127.0.0.1"};
  uint16_t port = 9793;
  std::string to_string() const;  // "127.0.0.1:9793", "[::1]:9793"
  bool operator==(const ListenAddress&) const = default;
};

// `http:`
struct HttpConfig {
  ListenAddress listen;
  uint32_t max_connections = 64;             // further connections are closed at accept
  uint32_t max_connections_per_client = 16;  // per peer address: one client cannot fill the server
  Seconds request_timeout{Seconds{10}};      // whole request read + response write
  uint32_t max_header_bytes = 8 * 1024;      // request line + headers
  uint32_t max_body_bytes = 64 * 1024;       // we only serve GETs; anything larger is refused
  bool operator==(const HttpConfig&) const = default;
};

// One `watch:` entry: a file or a directory. The path need not exist when the agent starts
// (the watcher picks it up when it appears); the key need not exist either (a missing key
// is reported as a finding, not a config error).
struct WatchEntry {
  std::filesystem::path path;
  bool recursive = false;
  // Trust anchors for this entry; nullopt = the global `trust:` list. Files must exist.
  std::optional<std::vector<std::filesystem::path>> trust;
  std::optional<std::string> host;  // hostname the leaf must match (leaf.hostname_mismatch)
  // The EKU purpose the leaf must allow; nullopt = none checked (as `check` without --purpose).
  std::optional<pki::Purpose> purpose;       // server or client (pki::kPurposeNames)
  std::optional<std::filesystem::path> key;  // private key to compare with the leaf
  std::vector<std::string> exclude;          // fnmatch(3) globs on the file name
  // Client families whose verdict is predicted for each chain (pki/verify/clients.h names).
  std::vector<std::string> clients;
  bool operator==(const WatchEntry&) const = default;
};

enum class Protocol { tls, mqtt, smtp, imap, pop3, ftp, postgres };
inline constexpr std::array<std::string_view, 7> kProtocolNames{"tls",  "mqtt", "smtp",    "imap",
                                                                "pop3", "ftp",  "postgres"};
// The one names table of endpoint protocols: the config's `protocol:`, `probe --protocol` and
// the prober's STARTTLS dialogues (agent/probe/starttls.h) all read it.
const char* to_string(Protocol p);
inline std::optional<Protocol> parse_protocol(std::string_view name) {
  for (std::size_t i = 0; i < kProtocolNames.size(); ++i)
    if (kProtocolNames[i] == name) return static_cast<Protocol>(i);
  return std::nullopt;
}

// "host:port" for endpoints and verify_endpoint; host is a name or an IP literal.
struct HostPort {
  std::string host;
  uint16_t port = 0;
  std::string to_string() const;
  bool operator==(const HostPort&) const = default;
};

// One `endpoints:` entry: a remote TLS server probed every `interval`.
struct EndpointEntry {
  HostPort target;
  std::string sni;  // default: target.host when it is a DNS name; empty = send no SNI
  Protocol protocol = Protocol::tls;
  Seconds interval{Seconds{60}};
  Seconds timeout{Seconds{10}};  // < interval (checked)
  // Client certificate and key: both or neither; they must exist.
  std::optional<std::filesystem::path> client_cert;
  std::optional<std::filesystem::path> client_key;
  // The file the served certificate should match (endpoint.stale). May be missing at start.
  std::optional<std::filesystem::path> expect_file;
  std::optional<std::vector<std::filesystem::path>> trust;  // nullopt = global `trust:`
  std::vector<std::string> clients;  // client families to predict for the served chain
  bool operator==(const EndpointEntry&) const = default;
};

// `mqtt:` (optional section: no alerts over MQTT without it).
// `mqtt.protocol`: MQTT 5 tells a publish the broker refused (an ACL's denial) from a delivered
// one; 3.1.1 acknowledges both alike.
enum class MqttProtocol { v5, v3_1_1 };

struct MqttConfig {
  std::string broker;        // mqtt://, mqtts://, tcp://, ssl://, ws:// or wss:// URL
  std::string client_id;     // default "certwatch-<hostname>"
  std::string topic_prefix;  // default "certwatch/<hostname>", no trailing '/'
  std::optional<std::filesystem::path> ca;    // must exist
  std::optional<std::filesystem::path> cert;  // with key: both or neither; must exist
  std::optional<std::filesystem::path> key;
  std::optional<std::string> username;
  std::optional<std::filesystem::path> password_file;  // must exist; never logged
  int qos = 1;                                         // 0, 1 or 2
  MqttProtocol protocol = MqttProtocol::v5;
  Seconds keepalive{Seconds{30}};
  // Alerts (exporters/mqtt/alert_state.h): a lower severity or a clear is announced once it
  // has held this long (against flapping); a reminder on `events` every `renotify` while an
  // alert stays active (0: none).
  Seconds hold{Seconds{60}};
  Seconds renotify{Seconds{86400}};
  // Findings below this severity raise no alert (info findings are the status page's).
  pki::Severity min_severity = pki::Severity::warning;
  // Events kept while the broker is away (Paho's offline buffer); beyond it the oldest go.
  uint32_t buffer_limit = 10000;
  bool home_assistant = false;  // MQTT discovery: one sensor per watched leaf certificate
  // A managed certificate whose renewal is healthy and not yet due does not page its
  // cert.expires_soon warning: the agent is about to replace it (critical still pages).
  bool quiet_managed_expiry = true;
  bool operator==(const MqttConfig&) const = default;
};

// `issuers[].acme.challenge`: how the ACME server's challenges are answered (issue #14).
struct AcmeChallenge {
  enum class Type { http01, dns01 } type = Type::http01;
  // http-01: exactly one of `listen` (the agent answers itself) and `webroot` (a file under
  // webroot/.well-known/acme-challenge/ that a web server serves).
  std::optional<ListenAddress> listen;
  std::optional<std::filesystem::path> webroot;
  // dns-01: hook commands run as argv (no shell); {name}, {value}, {identifier} substituted.
  std::vector<std::string> set;
  std::vector<std::string> clear;
  Seconds propagation{Seconds{0}};    // wait after `set` before the server is told to look
  Seconds hook_timeout{Seconds{60}};  // each run of `set` or `clear` is killed after this
  bool operator==(const AcmeChallenge&) const = default;
};

// External Account Binding (RFC 8555 7.3.4): step-ca, ZeroSSL, EJBCA, Vault may require it.
struct AcmeEab {
  std::string key_id;
  std::filesystem::path hmac_key_file;  // base64url as CAs hand it out; must exist; never logged
  bool operator==(const AcmeEab&) const = default;
};

// `issuers[].acme`: an ACME (RFC 8555) CA.
struct AcmeIssuer {
  std::string directory;                     // https:// URL of the directory
  std::vector<std::string> contact;          // mailto: URLs
  std::vector<std::filesystem::path> trust;  // the ACME server's TLS; empty = the system bundle
  // Anchors the issued chain is judged against before deploying; empty = `trust`, then the
  // system bundle.
  std::vector<std::filesystem::path> chain_trust;
  std::optional<AcmeEab> eab;
  pki::KeyType account_key_type = pki::KeyType::ec_p256;  // ec-p256 or rsa-2048/3072/4096
  Milliseconds request_timeout{Milliseconds{30000}};
  Seconds order_timeout{Seconds{600}};
  AcmeChallenge challenge;
  bool operator==(const AcmeIssuer&) const = default;
};

// One `issuers:` entry: a CA in a PKI directory made by `certwatch pki`, or (with `acme`) an
// ACME CA; exactly one of the two.
struct IssuerEntry {
  std::string name;                                      // referenced by managed[].issuer; unique
  std::filesystem::path pki_dir;                         // must exist
  std::string ca;                                        // CA name inside pki_dir; default = name
  std::optional<std::filesystem::path> passphrase_file;  // must exist
  std::optional<AcmeIssuer> acme =
      std::nullopt;  // set: an ACME CA (pki_dir, ca, passphrase_file unused)
  // The user PIN of the PKCS#11 token that holds the CA's key (pki/sign/); must exist.
  std::optional<std::filesystem::path> pin_file = std::nullopt;
  bool operator==(const IssuerEntry&) const = default;
};

// How to make the server pick up renewed files: exactly one of the three.
struct ReloadSignal {
  int signal = SIGHUP;
  std::filesystem::path pid_file;  // may be missing at load (the server may be down)
  bool operator==(const ReloadSignal&) const = default;
};
struct ReloadCommand {
  std::vector<std::string> argv;  // run without a shell; non-empty
  bool operator==(const ReloadCommand&) const = default;
};
struct ReloadSystemd {
  std::string unit;  // "mosquitto.service"
  bool operator==(const ReloadSystemd&) const = default;
};
struct Reload {
  enum class Kind { none, signal, command, systemd } kind = Kind::none;
  ReloadSignal signal;    // valid when kind == signal
  ReloadCommand command;  // valid when kind == command
  ReloadSystemd systemd;  // valid when kind == systemd
  bool operator==(const Reload&) const = default;
};

// One `managed:` entry: a leaf certificate certwatch issues, deploys and reloads.
struct ManagedEntry {
  std::string name;                             // unique
  std::string issuer;                           // an issuers[].name (checked)
  pki::Profile profile = pki::Profile::server;  // server or client
  std::string subject;  // "/CN=..." as pki::parse_dn takes it (checked by it at load)
  std::vector<pki::SubjectAltName> sans;  // pki::parse_san's rules: what the issuer accepts
  pki::KeyType key_type = pki::KeyType::ec_p256;
  Seconds validity{Seconds{90 * 86400}};
  std::optional<Seconds> renew_before;  // nullopt = a third of the lifetime; < validity
  // Deployed files; created by the renewal, so they may be missing at load.
  std::filesystem::path cert;
  std::filesystem::path key;
  std::optional<std::filesystem::path> chain;
  std::optional<std::string> owner;  // user name or uid for chown
  std::optional<std::string> group;
  uint32_t mode = 0600;  // of the key file; written as an octal string "0640"
  Reload reload;
  std::optional<HostPort> verify_endpoint;
  bool operator==(const ManagedEntry&) const = default;
};

struct Config {
  std::filesystem::path source;  // the file it was loaded from (absolute), or the given name
  AgentConfig agent;
  HttpConfig http;
  std::vector<std::filesystem::path> trust;  // default anchors; files must exist
  std::vector<WatchEntry> watch;
  std::vector<EndpointEntry> endpoints;
  std::optional<MqttConfig> mqtt;
  std::vector<IssuerEntry> issuers;
  std::vector<ManagedEntry> managed;
  // `severities: {finding-id: info|warning|critical}`; ids checked against the catalogue.
  std::map<std::string, pki::Severity> severities;

  // The overrides as the policy the judge takes.
  pki::SeverityPolicy severity_policy() const;
  bool operator==(const Config&) const = default;
};

}  // namespace certwatch::config
