#include "config/loader.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <csignal>
#include <sstream>

#include "support/fixtures.h"

namespace {

using Catch::Matchers::Contains;
using certwatch::config::LoadOptions;

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Every problem of `text` (loaded as "c.yaml" relative to /nonexistent-base), one per line.
std::vector<std::string> errors_of(const std::string& text, LoadOptions options = {}) {
  auto r = certwatch::config::load_config_string(text, "c.yaml", "/nonexistent-base", options);
  if (r) return {};
  return lines_of(r.error().message);
}

certwatch::config::Config load_ok(const std::string& text,
                                  const std::filesystem::path& base = "/base") {
  auto r = certwatch::config::load_config_string(text, "c.yaml", base);
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.ok());
  return *r;
}

}  // namespace

TEST_CASE("defaults fill everything not written", "[config][loader]") {
  const auto c = load_ok("watch:\n  - path: certs\n");
  CHECK(c.agent.state_dir == "/var/lib/certwatch");
  CHECK(c.agent.rescan_interval == std::chrono::minutes(10));
  CHECK(c.agent.debounce == std::chrono::milliseconds(200));
  CHECK(c.agent.probe_concurrency == 64);
  CHECK(c.agent.renew_retry == std::chrono::minutes(1));
  CHECK(c.agent.thresholds.warning_seconds == 24 * 30 * 3600);
  CHECK(c.agent.thresholds.critical_seconds == 24 * 7 * 3600);
  CHECK(c.http.listen.to_string() == "127.0.0.1:9793");
  CHECK(c.http.max_connections == 64);
  CHECK(c.trust.empty());
  REQUIRE(c.watch.size() == 1);
  CHECK(c.watch[0].path == "/base/certs");  // relative to the config's directory
  CHECK_FALSE(c.watch[0].recursive);
  CHECK_FALSE(c.watch[0].purpose.has_value());  // unset: no purpose checked
  CHECK_FALSE(c.watch[0].trust.has_value());
  CHECK_FALSE(c.mqtt.has_value());
  CHECK(c.severities.empty());
}

TEST_CASE("YAML syntax errors carry yaml-cpp's position, 1-based", "[config][loader][errors]") {
  CHECK(errors_of("watch:\n  - path: [a\n") ==
        std::vector<std::string>{"c.yaml:3:1: YAML syntax error: end of sequence flow not found"});
  CHECK(errors_of("agent: {state_dir: a: b}\n") ==
        std::vector<std::string>{"c.yaml:1:21: YAML syntax error: end of map flow not found"});
}

TEST_CASE("a second YAML document is an error, not ignored", "[config][loader][errors]") {
  CHECK(errors_of("watch: [{path: /x}]\n---\nwatch: [{path: /y}]\n") ==
        std::vector<std::string>{"c.yaml:3:1: a second YAML document: the config is one document "
                                 "(remove '---')"});
  CHECK(errors_of("---\nwatch: [{path: /x}]\n").empty());
}

TEST_CASE("unknown keys are reported where they stand, with a suggestion",
          "[config][loader][errors]") {
  CHECK(errors_of("watch:\n  - path: /x\n    recursiv: true\nagnet: {}\nfoo: 1\n") ==
        std::vector<std::string>{
            "c.yaml:3:5: unknown key 'recursiv' in watch[0] (did you mean 'recursive'?)",
            "c.yaml:4:1: unknown key 'agnet' (did you mean 'agent'?)",
            "c.yaml:5:1: unknown key 'foo'",
        });
  // Sections of later issues are known and checked strictly too.
  CHECK(errors_of("watch: [{path: /x}]\nmqtt: {broker: 'mqtt://h', qso: 1}\n") ==
        std::vector<std::string>{"c.yaml:2:28: unknown key 'qso' in mqtt (did you mean 'qos'?)"});
}

TEST_CASE("wrong types name what was expected and what was found", "[config][loader][errors]") {
  CHECK(errors_of("watch:\n  path: /x\n") ==
        std::vector<std::string>{"c.yaml:2:3: watch: expected a list, got a mapping"});
  CHECK(errors_of("trust: {a: 1}\nwatch:\n  - path: [a, b]\n    recursive: yes\n") ==
        std::vector<std::string>{
            "c.yaml:1:8: trust: expected a list, got a mapping",
            "c.yaml:3:11: watch[0].path: expected a string, got a list",
            "c.yaml:4:16: watch[0].recursive: expected true or false, got 'yes'",
        });
  CHECK(errors_of("- a\n- b\n") ==
        std::vector<std::string>{"c.yaml:1:1: the file: expected a mapping, got a list"});
  CHECK(errors_of("watch: [{path: /x}]\nhttp: {max_connections: lots}\n") ==
        std::vector<std::string>{
            "c.yaml:2:25: http.max_connections: expected a whole number, got 'lots'"});
}

TEST_CASE("bad durations are reported at the value", "[config][loader][errors]") {
  CHECK(errors_of("watch: [{path: /x}]\nagent:\n  rescan_interval: 10x\n  debounce: 5 ms\n") ==
        std::vector<std::string>{
            "c.yaml:3:20: agent.rescan_interval: bad duration '10x': unknown unit 'x' (w, d, h, "
            "m or s)",
            "c.yaml:4:13: agent.debounce: bad duration '5 ms': expected e.g. 200ms or 1s",
        });
  CHECK(errors_of("watch: [{path: /x}]\nagent: {rescan_interval: 90}\n") ==
        std::vector<std::string>{
            "c.yaml:2:26: agent.rescan_interval: bad duration '90': missing unit (w, d, h, m or "
            "s)"});
  CHECK(errors_of("watch: [{path: /x}]\nagent: {thresholds: {warning: 5d}}\n") ==
        std::vector<std::string>{
            "c.yaml:2:21: agent.thresholds: critical must be shorter than warning"});
}

TEST_CASE("durations accept units, compounds and milliseconds", "[config][loader]") {
  const auto c = load_ok(
      "watch: [{path: /x}]\nagent: {rescan_interval: 1h30m, debounce: 50ms,"
      " thresholds: {warning: 2w, critical: 36h}}\n");
  CHECK(c.agent.rescan_interval == std::chrono::minutes(90));
  CHECK(c.agent.debounce == std::chrono::milliseconds(50));
  CHECK(c.agent.thresholds.warning_seconds == 24 * 14 * 3600);
  CHECK(c.agent.thresholds.critical_seconds == 36 * 3600);
  CHECK(load_ok("watch: [{path: /x}]\nagent: {debounce: 2s}\n").agent.debounce ==
        std::chrono::seconds(2));
}

TEST_CASE("bad enum values list the choices and suggest one", "[config][loader][errors]") {
  CHECK(errors_of("watch:\n  - path: /x\n    purpose: sever\n") ==
        std::vector<std::string>{
            "c.yaml:3:14: watch[0].purpose: bad value 'sever', expected one of server, client "
            "(did you mean 'server'?)"});
  CHECK(errors_of("endpoints:\n  - {target: 'h:1', protocol: http}\n") ==
        std::vector<std::string>{
            "c.yaml:2:31: endpoints[0].protocol: bad value 'http', expected one of tls, mqtt, "
            "smtp, imap, pop3, ftp, postgres"});
  CHECK(errors_of("watch: [{path: /x}]\nseverities: {chain.ordr: info, cert.v1: fatal}\n") ==
        std::vector<std::string>{
            "c.yaml:2:14: severities: unknown finding id 'chain.ordr' (did you mean "
            "'chain.order'?)",
            "c.yaml:2:41: severities.cert.v1: bad value 'fatal', expected one of info, warning, "
            "critical",
        });
}

TEST_CASE("missing required keys are reported at their mapping", "[config][loader][errors]") {
  CHECK(errors_of("watch:\n  - recursive: true\n") ==
        std::vector<std::string>{"c.yaml:2:5: missing required key 'path' in watch[0]"});
  CHECK(errors_of("endpoints:\n  - sni: a\nmqtt: {qos: 1}\n") ==
        std::vector<std::string>{
            "c.yaml:2:5: missing required key 'target' in endpoints[0]",
            "c.yaml:3:7: missing required key 'broker' in mqtt",
        });
  CHECK(errors_of("") ==
        std::vector<std::string>{"c.yaml:1:1: nothing to do: give at least one of watch, endpoints "
                                 "or managed"});
}

TEST_CASE("trust files must exist, watch paths and keys may be missing",
          "[config][loader][errors][files]") {
  testing::TempDir dir;
  testing::write_file(dir / "ca.pem", "x");
  const std::string text =
      "trust: [ca.pem, missing.pem]\n"
      "watch:\n"
      "  - path: not-yet\n"
      "    key: not-yet/k.pem\n"
      "    trust: [gone/]\n";
  testing::write_file(dir / "c.yaml", text);
  const auto file = (dir / "c.yaml").string();
  auto r = certwatch::config::load_config(dir / "c.yaml");
  REQUIRE_FALSE(r.ok());
  CHECK(lines_of(r.error().message) ==
        std::vector<std::string>{
            file + ":1:17: trust[1]: " + (dir / "missing.pem").string() + " does not exist",
            file + ":5:13: watch[0].trust[0]: " + (dir / "gone").string() + " does not exist",
        });
  // With the checks off (config for another machine) the same text is valid.
  CHECK(certwatch::config::load_config(dir / "c.yaml", LoadOptions{.check_files = false}).ok());
  // Credentials must be files.
  testing::write_file(dir / "c2.yaml",
                      "watch: [{path: a}]\nmqtt: {broker: 'mqtts://h', password_file: .}\n");
  auto r2 = certwatch::config::load_config(dir / "c2.yaml");
  REQUIRE_FALSE(r2.ok());
  CHECK(r2.error().message == (dir / "c2.yaml").string() + ":2:44: mqtt.password_file: " +
                                  dir.path().string() + " is a directory, expected a file");
}

TEST_CASE("duplicates: watch paths (after resolution), keys, names", "[config][loader][errors]") {
  CHECK(errors_of("watch:\n  - path: /etc/x\n  - path: /etc/y/../x/\n") ==
        std::vector<std::string>{
            "c.yaml:3:11: watch[1].path: duplicate watch path /etc/x (also watch[0])"});
  CHECK(errors_of("watch:\n  - path: /a\n    path: /b\n") ==
        std::vector<std::string>{"c.yaml:3:5: duplicate key 'path' in watch[0] (first at line 2)"});
  const std::string managed =
      "issuers: [{name: ca, pki_dir: /p}, {name: ca, pki_dir: /q}]\n"
      "managed:\n"
      "  - {name: m, issuer: ca, subject: /CN=a, cert: a, key: b}\n"
      "  - {name: m, issuer: cb, subject: /CN=a, cert: c, key: d}\n";
  CHECK(errors_of(managed, LoadOptions{.check_files = false}) ==
        std::vector<std::string>{
            "c.yaml:1:43: issuers[1].name: duplicate issuer name 'ca'",
            "c.yaml:4:12: managed[1].name: duplicate managed name 'm'",
            "c.yaml:4:23: managed[1].issuer: no issuer named 'cb' (did you mean 'ca'?)",
        });
  // One entry per endpoint: its target names the inventory targets and series.
  CHECK(errors_of("endpoints:\n  - target: 'h.example:8883'\n  - {target: 'h.example:8883', "
                  "protocol: mqtt}\n") ==
        std::vector<std::string>{"c.yaml:3:14: endpoints[1].target: duplicate endpoint "
                                 "h.example:8883 (also endpoints[0])"});
  CHECK(errors_of("agent: {probe_concurrency: 0}\nendpoints: [{target: 'h:1'}]\n").size() == 1);
  CHECK(load_ok("agent: {probe_concurrency: 500}\nendpoints: [{target: 'h:1'}]\n")
            .agent.probe_concurrency == 500);
  CHECK(errors_of("agent: {renew_retry: 2h}\nwatch: [{path: a}]\n") ==
        std::vector<std::string>{"c.yaml:1:22: agent.renew_retry: must be at most 1h"});
  CHECK(load_ok("agent: {renew_retry: 5s}\nwatch: [{path: a}]\n").agent.renew_retry ==
        std::chrono::seconds(5));
}

TEST_CASE("every problem of a file is reported, in file order", "[config][loader][errors]") {
  const auto errs = errors_of(
      "agent:\n"
      "  rescan_interval: soon\n"  // bad duration
      "http:\n"
      "  listen: 'localhost:http'\n"  // bad port
      "watch:\n"
      "  - path: /x\n"
      "    purpose: both\n"  // bad enum
      "  - host: a\n"        // missing path
      "managed:\n"
      "  - name: m\n"
      "    issuer: nobody\n"  // no such issuer
      "    subject: CN=m\n"   // bad subject
      "    sans: [DNS:a, IP:300.1.1.1, 'DNS:10.0.0.1']\n"
      "    key_type: rsa-1024\n"
      "    cert: a\n"
      "    key: b\n"
      "    mode: '0844'\n"
      "    validity: 30d\n"
      "    renew_before: 30d\n"
      "    reload: {signal: HUP, systemd_unit: x.service}\n");
  REQUIRE(errs.size() == 12);
  CHECK_THAT(errs[0], Contains("c.yaml:2:20: agent.rescan_interval: bad duration 'soon'"));
  CHECK(errs[1] == "c.yaml:4:11: http.listen: bad address 'localhost:http': port must be 1-65535");
  CHECK_THAT(errs[2], Contains("c.yaml:7:14: watch[0].purpose: bad value 'both'"));
  CHECK(errs[3] == "c.yaml:8:5: missing required key 'path' in watch[1]");
  CHECK(errs[4] ==
        "c.yaml:11:13: managed[0].issuer: no issuer named 'nobody' (the issuers "
        "section is empty)");
  CHECK_THAT(errs[5], Contains("c.yaml:12:14: managed[0].subject: bad subject 'CN=m'"));
  CHECK(errs[6] ==
        "c.yaml:13:19: managed[0].sans[1]: bad SAN 'IP:300.1.1.1': '300.1.1.1' is "
        "not an IPv4 or IPv6 address");
  CHECK(errs[7] ==
        "c.yaml:13:33: managed[0].sans[2]: bad SAN 'DNS:10.0.0.1': an IP address "
        "must be written IP:10.0.0.1");
  CHECK_THAT(errs[8], Contains("c.yaml:14:15: managed[0].key_type: bad value 'rsa-1024'"));
  CHECK_THAT(errs[9], Contains("c.yaml:17:11: managed[0].mode: bad mode '0844'"));
  CHECK(errs[10] ==
        "c.yaml:19:19: managed[0].renew_before: must be shorter than validity "
        "(30d), or renewal loops");
  CHECK_THAT(errs[11], Contains("c.yaml:20:13: managed[0].reload: give exactly one of"));
}

TEST_CASE("listen addresses and host:port values", "[config][loader][address]") {
  CHECK(
      load_ok("watch: [{path: /x}]\nhttp: {listen: 'localhost:9000'}\n").http.listen.to_string() ==
      "127.0.0.1:9000");
  CHECK(load_ok("watch: [{path: /x}]\nhttp: {listen: '[::1]:9793'}\n").http.listen.to_string() ==
        "[::1]:9793");
  CHECK(errors_of("watch: [{path: /x}]\nhttp: {listen: '::1:9793'}\n") ==
        std::vector<std::string>{"c.yaml:2:16: http.listen: bad address '::1:9793': write IPv6 "
                                 "addresses in brackets, e.g. [::1]:9793"});
  CHECK(errors_of("watch: [{path: /x}]\nhttp: {listen: 'example.org:80'}\n") ==
        std::vector<std::string>{"c.yaml:2:16: http.listen: bad listen address 'example.org:80': "
                                 "expected IP:PORT or [IPv6]:PORT (e.g. 127.0.0.1:9793)"});
  CHECK(errors_of("endpoints: [{target: 'mqtt.lab.local'}]\n") ==
        std::vector<std::string>{"c.yaml:1:22: endpoints[0].target: bad address "
                                 "'mqtt.lab.local': expected HOST:PORT"});
  CHECK(errors_of("endpoints: [{target: 'h:0'}]\n") ==
        std::vector<std::string>{
            "c.yaml:1:22: endpoints[0].target: bad address 'h:0': port must be 1-65535"});
}

TEST_CASE("every section is parsed into the structs", "[config][loader]") {
  testing::TempDir dir;
  for (const char* f : {"ca.pem", "client-ca.pem", "probe.crt", "probe.key", "pass", "mqtt.crt",
                        "mqtt.key", "mqtt.pw"})
    testing::write_file(dir / f, "x");
  std::filesystem::create_directory(dir / "pki");
  const std::string text = R"(
agent: {state_dir: state, rescan_interval: 5m, debounce: 1s, thresholds: {warning: 20d, critical: 2d}}
http: {listen: "0.0.0.0:9100", max_connections: 8, request_timeout: 3s, max_header_bytes: 4096, max_body_bytes: 0}
trust: [ca.pem]
watch:
  - {path: certs, recursive: true, host: mqtt.lab.local, purpose: client, key: certs/k.pem,
     exclude: ["*.key"], trust: [client-ca.pem]}
endpoints:
  - {target: "mqtt.lab.local:8883", protocol: mqtt, interval: 2m, timeout: 5s,
     client_cert: probe.crt, client_key: probe.key, expect_file: certs/chain.pem}
  - {target: "127.0.0.1:443"}
mqtt: {broker: "mqtts://127.0.0.1:8883", client_id: cw, topic_prefix: certwatch/b1, ca: ca.pem,
       cert: mqtt.crt, key: mqtt.key, username: u, password_file: mqtt.pw, qos: 2, keepalive: 1m}
issuers: [{name: server-ca, pki_dir: pki, passphrase_file: pass}]
managed:
  - {name: mosquitto, issuer: server-ca, subject: /CN=mqtt.lab.local/O=Lab,
     sans: [DNS:mqtt.lab.local, ip:0:0::1], key_type: ed25519, validity: 30d, renew_before: 10d,
     cert: out/s.crt, key: out/s.key, chain: out/s.chain, owner: mosquitto, group: "0",
     mode: "640", reload: {signal: SIGUSR1, pid_file: /run/m.pid}, verify_endpoint: "[::1]:8883"}
  - {name: b, issuer: server-ca, profile: client, subject: /CN=b, cert: b.crt, key: b.key,
     reload: {command: [/bin/systemctl, reload, x]}}
  - {name: c, issuer: server-ca, subject: /CN=c, cert: c.crt, key: c.key, reload: {systemd_unit: nginx.service}}
severities: {leaf.long_validity: critical, cert.v1: info}
)";
  testing::write_file(dir / "certwatch.yaml", text);
  auto r = certwatch::config::load_config(dir / "certwatch.yaml");
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.ok());
  const certwatch::config::Config& c = *r;
  const auto d = dir.path();
  CHECK(c.source == d / "certwatch.yaml");
  CHECK(c.agent.state_dir == d / "state");
  CHECK(c.agent.rescan_interval == std::chrono::minutes(5));
  CHECK(c.agent.debounce == std::chrono::seconds(1));
  CHECK(c.agent.thresholds == certwatch::pki::Thresholds{480 * 3600, 48 * 3600});
  CHECK(c.http.listen == certwatch::config::ListenAddress{"0.0.0.0", 9100});
  CHECK(c.http.max_connections == 8);
  CHECK(c.http.request_timeout == std::chrono::seconds(3));
  CHECK(c.http.max_header_bytes == 4096);
  CHECK(c.http.max_body_bytes == 0);
  CHECK(c.trust == std::vector<std::filesystem::path>{d / "ca.pem"});

  REQUIRE(c.watch.size() == 1);
  const auto& w = c.watch[0];
  CHECK(w.path == d / "certs");
  CHECK(w.recursive);
  CHECK(w.host == "mqtt.lab.local");
  CHECK(w.purpose == certwatch::pki::Purpose::client);
  CHECK(w.key == d / "certs/k.pem");
  CHECK(w.exclude == std::vector<std::string>{"*.key"});
  CHECK(w.trust == std::vector<std::filesystem::path>{d / "client-ca.pem"});

  REQUIRE(c.endpoints.size() == 2);
  const auto& e = c.endpoints[0];
  CHECK(e.target.to_string() == "mqtt.lab.local:8883");
  CHECK(e.sni == "mqtt.lab.local");
  CHECK(e.protocol == certwatch::config::Protocol::mqtt);
  CHECK(std::string(certwatch::config::to_string(e.protocol)) == "mqtt");
  CHECK(std::string(certwatch::pki::to_string(*w.purpose)) == "client");
  CHECK(e.interval == std::chrono::minutes(2));
  CHECK(e.timeout == std::chrono::seconds(5));
  CHECK(e.client_cert == d / "probe.crt");
  CHECK(e.client_key == d / "probe.key");
  CHECK(e.expect_file == d / "certs/chain.pem");
  CHECK_FALSE(e.trust.has_value());
  CHECK(c.endpoints[1].sni.empty());  // no SNI for an IP literal
  CHECK(c.endpoints[1].interval == std::chrono::minutes(1));

  REQUIRE(c.mqtt.has_value());
  CHECK(c.mqtt->broker == "mqtts://127.0.0.1:8883");
  CHECK(c.mqtt->client_id == "cw");
  CHECK(c.mqtt->topic_prefix == "certwatch/b1");
  CHECK(c.mqtt->ca == d / "ca.pem");
  CHECK(c.mqtt->cert == d / "mqtt.crt");
  CHECK(c.mqtt->key == d / "mqtt.key");
  CHECK(c.mqtt->username == "u");
  CHECK(c.mqtt->password_file == d / "mqtt.pw");
  CHECK(c.mqtt->qos == 2);
  CHECK(c.mqtt->keepalive == std::chrono::minutes(1));

  REQUIRE(c.issuers.size() == 1);
  CHECK(c.issuers[0] ==
        certwatch::config::IssuerEntry{"server-ca", d / "pki", "server-ca", d / "pass"});

  REQUIRE(c.managed.size() == 3);
  const auto& m = c.managed[0];
  CHECK(m.name == "mosquitto");
  CHECK(m.issuer == "server-ca");
  CHECK(m.profile == certwatch::pki::Profile::server);
  CHECK(m.subject == "/CN=mqtt.lab.local/O=Lab");
  REQUIRE(m.sans.size() == 2);
  CHECK(certwatch::pki::to_string(m.sans[0]) == "DNS:mqtt.lab.local");
  CHECK(certwatch::pki::to_string(m.sans[1]) == "IP:::1");
  CHECK(m.key_type == certwatch::pki::KeyType::ed25519);
  CHECK(std::string(certwatch::pki::to_string(m.key_type)) == "ed25519");
  CHECK(m.validity == std::chrono::hours(24 * 30));
  CHECK(m.renew_before == std::chrono::hours(24 * 10));
  CHECK(m.cert == d / "out/s.crt");
  CHECK(m.key == d / "out/s.key");
  CHECK(m.chain == d / "out/s.chain");
  CHECK(m.owner == "mosquitto");
  CHECK(m.group == "0");
  CHECK(m.mode == 0640);
  CHECK(m.reload.kind == certwatch::config::Reload::Kind::signal);
  CHECK(m.reload.signal.signal == SIGUSR1);
  CHECK(m.reload.signal.pid_file == "/run/m.pid");
  CHECK(m.verify_endpoint->to_string() == "[::1]:8883");
  CHECK(c.managed[1].profile == certwatch::pki::Profile::client);
  CHECK(c.managed[1].key_type == certwatch::pki::KeyType::ec_p256);
  CHECK(c.managed[1].validity == std::chrono::hours(24 * 90));
  CHECK_FALSE(c.managed[1].renew_before.has_value());
  CHECK(c.managed[1].mode == 0600);
  CHECK(c.managed[1].reload.kind == certwatch::config::Reload::Kind::command);
  CHECK(c.managed[1].reload.command.argv ==
        std::vector<std::string>{"/bin/systemctl", "reload", "x"});
  CHECK(c.managed[2].reload.kind == certwatch::config::Reload::Kind::systemd);
  CHECK(c.managed[2].reload.systemd.unit == "nginx.service");

  CHECK(c.severities.size() == 2);
  const auto policy = c.severity_policy();
  CHECK(policy.severity_of("leaf.long_validity") == certwatch::pki::Severity::critical);
  CHECK(policy.severity_of("cert.v1") == certwatch::pki::Severity::info);
  CHECK(policy.severity_of("chain.order") == certwatch::pki::Severity::critical);  // default kept
}

TEST_CASE("configs compare by value so a reload can see what changed", "[config][loader]") {
  const std::string base = "watch: [{path: /a}, {path: /b, recursive: true}]\n";
  const auto a = load_ok(base);
  CHECK(a == load_ok(base));
  const auto b = load_ok("watch: [{path: /a}, {path: /b, recursive: false}]\n");
  CHECK(a != b);
  CHECK(a.http == b.http);
  CHECK(a.watch[0] == b.watch[0]);
  CHECK(a.watch[1] != b.watch[1]);
}

TEST_CASE("reload takes exactly one way and checks each", "[config][loader][errors]") {
  const std::string head =
      "issuers: [{name: ca, pki_dir: /p}]\nmanaged:\n  - {name: m, issuer: ca, subject: /CN=a, "
      "cert: a, key: b, reload: ";
  auto errs = [&](const std::string& reload) {
    return errors_of(head + reload + "}\n", LoadOptions{.check_files = false});
  };
  CHECK(errs("{}").size() == 1);
  CHECK(errs("{signal: HUP}") ==
        std::vector<std::string>{
            "c.yaml:3:68: missing required key 'pid_file' in managed[0].reload"});
  CHECK(errs("{signal: KILL, pid_file: /p}") ==
        std::vector<std::string>{"c.yaml:3:77: managed[0].reload.signal: bad value 'KILL', "
                                 "expected one of HUP, USR1, USR2, TERM, INT, QUIT"});
  CHECK(errs("{command: []}") ==
        std::vector<std::string>{
            "c.yaml:3:78: managed[0].reload.command: needs at least the program to run"});
  CHECK(errs("{systemd_unit: nginx}") ==
        std::vector<std::string>{"c.yaml:3:83: managed[0].reload.systemd_unit: bad unit name "
                                 "'nginx': expected NAME.service (e.g. mosquitto.service)"});
  CHECK(errs("{pid_file: /run/x.pid}").empty());  // signal defaults to HUP
}

TEST_CASE("a config file that cannot be read is one problem without a position",
          "[config][loader][errors]") {
  testing::TempDir dir;
  auto r = certwatch::config::load_config(dir / "none.yaml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == (dir / "none.yaml").string() + ": config file does not exist");
  const auto report = certwatch::config::check_config(dir.path());
  REQUIRE(report.problems.size() == 1);
  CHECK(report.problems[0].line == 0);
  CHECK(report.problems[0].message == "config file is a directory");
}

TEST_CASE("the shipped examples are valid", "[config][loader][examples]") {
  const auto examples = testing::source_dir() / "config" / "examples";
  auto minimal = certwatch::config::load_config(examples / "minimal.yaml");
  INFO((minimal ? std::string() : minimal.error().message));
  REQUIRE(minimal.ok());
  CHECK(minimal->watch.size() == 1);

  // The full example names files of a real host: valid apart from files that do not exist.
  auto full = certwatch::config::load_config(examples / "certwatch.yaml",
                                             LoadOptions{.check_files = false});
  INFO((full ? std::string() : full.error().message));
  REQUIRE(full.ok());
  CHECK(full->watch.size() == 3);
  CHECK(full->endpoints.size() == 1);
  CHECK(full->mqtt.has_value());
  CHECK(full->issuers.size() == 2);  // the built-in CA and an ACME CA
  CHECK(full->issuers[1].acme.has_value());
  CHECK(full->managed.size() == 2);
  CHECK(full->severities.size() == 2);
  const auto report = certwatch::config::check_config(examples / "certwatch.yaml");
  for (const auto& p : report.problems) {
    INFO(p.to_string());
    CHECK_THAT(p.message, Contains("does not exist"));
  }
}

TEST_CASE("managed entries are checked by the issuer's own rules", "[config][loader][managed]") {
  // Each of these loaded before the config used pki's parsers, and the issuer refused it later.
  const std::string head =
      "issuers: [{name: ca, pki_dir: /p}]\nmanaged:\n  - {name: m, issuer: ca, cert: a, key: b, ";
  auto one_error = [&](const std::string& rest) {
    auto errs = errors_of(head + rest + "}\n", LoadOptions{.check_files = false});
    REQUIRE(errs.size() == 1);
    return errs[0];
  };
  // An attribute type OpenSSL cannot encode.
  CHECK_THAT(one_error("subject: /FOO=bar"),
             Contains("managed[0].subject: bad subject '/FOO=bar'"));
  // DNS labels as the issuer checks them: no leading '-', at most 63 characters.
  CHECK_THAT(one_error("subject: /CN=a, sans: [DNS:-a.lab]"),
             Contains("bad SAN 'DNS:-a.lab': label starts or ends with '-'"));
  CHECK_THAT(one_error("subject: /CN=a, sans: [DNS:" + std::string(64, 'a') + ".lab]"),
             Contains("label longer than 63 characters"));
  // And what the issuer accepts loads: e-mail and URI SANs, every key type it generates.
  for (const auto& k : certwatch::pki::key_type_names()) {
    auto c = certwatch::config::load_config_string(
        head + "subject: /CN=a, key_type: " + std::string(k) +
            ", sans: ['email:ops@lab.local', 'URI:spiffe://lab/m']}\n",
        "c.yaml", "/base", LoadOptions{.check_files = false});
    INFO((c ? std::string() : c.error().message));
    REQUIRE(c.ok());
    CHECK(certwatch::pki::to_string(c->managed[0].key_type) == k);
    CHECK(c->managed[0].sans.size() == 2);
  }
}

TEST_CASE("clients: lists client families per watch entry and endpoint",
          "[config][loader][clients]") {
  const auto c = load_ok(
      "watch:\n  - path: /x\n    clients: [mbedtls, openssl, mbedtls]\n"
      "endpoints:\n  - target: 'h:8883'\n    clients: [go, gnutls]\n");
  CHECK(c.watch[0].clients == std::vector<std::string>{"mbedtls", "openssl"});
  CHECK(c.endpoints[0].clients == std::vector<std::string>{"go", "gnutls"});
  CHECK(load_ok("watch:\n  - path: /x\n").watch[0].clients.empty());
  CHECK(
      errors_of("watch:\n  - path: /x\n    clients: [openssl, mbedtsl]\n") ==
      std::vector<std::string>{
          "c.yaml:3:24: watch[0].clients[1]: bad value 'mbedtsl', expected one of openssl, gnutls, "
          "go, mbedtls (did you mean 'mbedtls'?)"});
  const auto errs = errors_of("endpoints:\n  - target: 'h:1'\n    clients: mbedtls\n");
  REQUIRE(errs.size() == 1);
  CHECK_THAT(errs[0], Contains("c.yaml:3:14: endpoints[0].clients"));
}

TEST_CASE("agent.issued_clock_skew: 5m by default, 0s to 1d", "[config][loader]") {
  CHECK(load_ok("watch: [{path: a}]\n").agent.issued_clock_skew == std::chrono::minutes(5));
  CHECK(load_ok("agent: {issued_clock_skew: 0s}\nwatch: [{path: a}]\n").agent.issued_clock_skew ==
        std::chrono::seconds(0));
  CHECK(load_ok("agent: {issued_clock_skew: 2m}\nwatch: [{path: a}]\n").agent.issued_clock_skew ==
        std::chrono::minutes(2));
  CHECK(errors_of("agent: {issued_clock_skew: 2d}\nwatch: [{path: a}]\n") ==
        std::vector<std::string>{"c.yaml:1:28: agent.issued_clock_skew: must be at most 1d"});
}
