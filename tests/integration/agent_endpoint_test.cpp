// The agent's endpoint source (issue #9): real `openssl s_server` listeners and a real
// Mosquitto probed by the real `certwatch agent`, read back from /metrics, the JSON API and
// the status page. Covers: the same findings as files (order, host name), the endpoint
// failures (closed port, black hole), the probe metrics, a reload that keeps the results of
// unchanged endpoints, and endpoint.stale (files replaced without a reload, then SIGHUP).
#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <numeric>

#include "integration/agent_harness.h"
#include "integration/mosquitto_broker.h"
#include "support/fixtures.h"
#include "support/pki_fixture.h"
#include "support/starttls_server.h"
#include "support/tls_servers.h"

using namespace testing;
using namespace agent_test;
using std::chrono::seconds;

namespace {

double probes_total(const std::string& metrics) {
  double n = 0;
  for (const auto& l : series(metrics, "certwatch_probes_total", {})) n += value_of(l);
  return n;
}

std::string endpoint_yaml(const std::string& target, const std::string& extra = "") {
  return "  - target: \"" + target + "\"\n    interval: 60s\n    timeout: 1s\n" + extra;
}

std::string config_head(int port, const fs::path& state, const fs::path& bundle) {
  return "agent:\n  state_dir: " + state.string() + "\nhttp:\n  listen: \"127.0.0.1:" + std::to_string(port) +
         "\"\ntrust:\n  - " + bundle.string() + "\nendpoints:\n";
}

bool has_finding(const std::string& metrics, const std::string& target, const std::string& id) {
  return !series(metrics, "certwatch_finding", {"target=\"" + target + "\"", "id=\"" + id + "\""}).empty();
}

}  // namespace

TEST_CASE("agent probes endpoints: chains judged as files, failures named, probe metrics, reload keeps results",
          "[integration][agent][endpoint]") {
  TempDir tmp;
  PkiFixture f(tmp / "pki");
  const DeepChain d = make_deep_chain(f);
  TlsServer good(tmp.path(), d.leaf, f.cat("good.pem", {d.int2.cert, d.int1.cert}));
  TlsServer reversed(tmp.path(), d.leaf, f.cat("reversed.pem", {d.int1.cert, d.int2.cert}));
  RawServer black_hole("");
  const int closed = free_port();
  const std::string g = "127.0.0.1:" + std::to_string(good.port);
  const std::string rv = "127.0.0.1:" + std::to_string(reversed.port);
  const std::string bh = "127.0.0.1:" + std::to_string(black_hole.port);
  const std::string cl = "127.0.0.1:" + std::to_string(closed);
  // The good server under another name: same chain, wrong host.
  const std::string wrong = "localhost:" + std::to_string(good.port);

  const int port = free_port();
  const fs::path config = tmp / "certwatch.yaml";
  std::string y = config_head(port, tmp / "state", d.bundle) + endpoint_yaml(g, "    sni: mqtt.lab.local\n") +
                  endpoint_yaml(rv, "    sni: mqtt.lab.local\n") + endpoint_yaml(bh) + endpoint_yaml(cl) +
                  endpoint_yaml(wrong, "    sni: other.lab.local\n");
  write_file(config, y);
  AgentProcess agent(tmp.path(), config, port);
  REQUIRE(agent.wait_ready());
  // localhost resolves to 127.0.0.1 (and ::1 where it is configured): at least 5 addresses.
  std::string m;
  REQUIRE(eventually([&] { return probes_total(m = agent.metrics()) >= 5; }, seconds(20)));
  INFO(m << agent.log());
  const std::string tg = g + " [127.0.0.1]", trv = rv + " [127.0.0.1]", tbh = bh + " [127.0.0.1]",
                    tcl = cl + " [127.0.0.1]", twrong = wrong + " [127.0.0.1]";

  // The good chain: probe success, TLS details, certificates as from a file, no finding.
  const auto ok = series(m, "certwatch_probe_success", {"target=\"" + tg + "\""});
  REQUIRE(ok.size() == 1);
  CHECK(value_of(ok[0]) == 1);
  CHECK(label_value(ok[0], "source") == "endpoint");
  CHECK(label_value(ok[0], "endpoint") == g);
  CHECK(label_value(ok[0], "address") == "127.0.0.1");
  CHECK(series(m, "certwatch_probe_tls_info", {"target=\"" + tg + "\"", "tls_version=\"TLSv1.3\""}).size() == 1);
  CHECK(series(m, "certwatch_probe_last_success_timestamp_seconds", {"target=\"" + tg + "\""}).size() == 1);
  CHECK(series(m, "certwatch_cert_not_after_timestamp_seconds",
               {"source=\"endpoint\"", "target=\"" + tg + "\"", "subject_cn=\"mqtt.lab.local\""})
            .size() == 1);
  CHECK(value_of(series(m, "certwatch_chain_valid", {"target=\"" + tg + "\""}).at(0)) == 1);
  CHECK(series(m, "certwatch_finding", {"target=\"" + tg + "\""}).empty());

  // Judged as files are: order and host name.
  CHECK(has_finding(m, trv, "chain.order"));
  CHECK(value_of(series(m, "certwatch_probe_success", {"target=\"" + trv + "\""}).at(0)) == 1);
  CHECK(has_finding(m, twrong, "leaf.hostname_mismatch"));

  // Failures, each within its timeout.
  CHECK(has_finding(m, tcl, "endpoint.unreachable"));
  CHECK(has_finding(m, tbh, "endpoint.handshake_failed"));
  CHECK(value_of(series(m, "certwatch_probe_success", {"target=\"" + tbh + "\""}).at(0)) == 0);
  const auto bh_duration = series(m, "certwatch_probe_duration_seconds", {"target=\"" + tbh + "\""});
  REQUIRE(bh_duration.size() == 1);
  CHECK(value_of(bh_duration[0]) < 3.0);
  CHECK(value_of(series(m, "certwatch_endpoints", {}).at(0)) == 5);

  // The API and the status page show them beside files.
  const auto api = http_get(port, "/api/v1/certificates");
  CHECK(api.body.find("\"target\":\"" + tg + "\",\"source\":\"endpoint\"") != std::string::npos);
  CHECK(api.body.find("\"probe\":{\"endpoint\":\"" + g + "\",\"address\":\"127.0.0.1\",\"success\":true") !=
        std::string::npos);
  const auto page = http_get(port, "/");
  CHECK(page.body.find("<h2>Endpoints</h2>") != std::string::npos);
  CHECK(page.body.find(g) != std::string::npos);

  // The exposition stays valid with the probe families.
  write_file(tmp / "metrics.txt", m);
  const RunResult promtool = run({"sh", "-c", "promtool check metrics < " + (tmp / "metrics.txt").string()}, seconds(30));
  INFO(promtool.out << promtool.err);
  CHECK(promtool.exit_code == 0);

  SECTION("a reload keeps the results of unchanged endpoints and probes only the new one") {
    const double before = probes_total(m);
    TlsServer another(tmp.path(), d.leaf, f.cat("another.pem", {d.int2.cert, d.int1.cert}));
    const std::string an = "127.0.0.1:" + std::to_string(another.port);
    write_file(config, y + endpoint_yaml(an, "    sni: mqtt.lab.local\n"));
    REQUIRE(agent.process().signal(SIGHUP));
    std::string after;
    REQUIRE(eventually(
        [&] {
          after = agent.metrics();
          return !series(after, "certwatch_probe_success", {"target=\"" + an + " [127.0.0.1]\""}).empty();
        },
        seconds(20)));
    sleep_ms(300);
    after = agent.metrics();
    INFO(after);
    CHECK(probes_total(after) == before + 1);
    CHECK(value_of(series(after, "certwatch_probe_success", {"target=\"" + tg + "\""}).at(0)) == 1);
    CHECK(has_finding(after, trv, "chain.order"));

    SECTION("a removed endpoint's series go") {
      write_file(config, config_head(port, tmp / "state", d.bundle) + endpoint_yaml(g, "    sni: mqtt.lab.local\n"));
      REQUIRE(agent.process().signal(SIGHUP));
      REQUIRE(eventually(
          [&] {
            after = agent.metrics();
            return series(after, "certwatch_probe_success", {"target=\"" + trv + "\""}).empty();
          },
          seconds(20)));
      CHECK_FALSE(has_finding(after, trv, "chain.order"));
      CHECK(series(after, "certwatch_probe_success", {}).size() == 1);
      CHECK(value_of(series(after, "certwatch_endpoints", {}).at(0)) == 1);
    }
  }
}

TEST_CASE("agent: endpoint.stale when mosquitto's files are replaced without a reload, cleared by SIGHUP",
          "[integration][agent][endpoint][mosquitto]") {
  if (!have_program("mosquitto")) FAIL("mosquitto is not installed");
  TempDir tmp;
  PkiFixture f(tmp / "pki");
  const DeepChain d = make_deep_chain(f);
  const CertFiles client = f.client("client", d.root, CertOptions::of("probe-client"));
  const fs::path live = tmp / "live";
  fs::create_directories(live);
  const fs::path served = live / "server.chain.pem";
  const fs::path key = live / "server.key";
  fs::copy_file(f.cat("served1.pem", {d.leaf.cert, d.int2.cert, d.int1.cert}), served);
  fs::copy_file(d.leaf.key, key);
  mosquitto_test::Broker broker(
      tmp.path(), "cafile " + d.root.cert.string() + "\ncertfile " + served.string() + "\nkeyfile " + key.string() + "\n",
      "stale");
  const std::string ep = "127.0.0.1:" + std::to_string(broker.port);
  const std::string target = ep + " [127.0.0.1]";

  const int port = free_port();
  const fs::path config = tmp / "certwatch.yaml";
  write_file(config, config_head(port, tmp / "state", d.bundle) + "  - target: \"" + ep +
                         "\"\n    sni: mqtt.lab.local\n    protocol: mqtt\n    interval: 2s\n    timeout: 1s\n"
                         "    client_cert: " + client.cert.string() + "\n    client_key: " + client.key.string() +
                         "\n    expect_file: " + served.string() + "\n");
  AgentProcess agent(tmp.path(), config, port);
  REQUIRE(agent.wait_ready());
  std::string m;
  const auto success = [&] {
    m = agent.metrics();
    const auto s = series(m, "certwatch_probe_success", {"target=\"" + target + "\""});
    return s.size() == 1 && value_of(s[0]) == 1;
  };
  REQUIRE(eventually(success, seconds(20)));
  INFO(m << agent.log() << read_file(broker.log));
  CHECK_FALSE(has_finding(m, target, "endpoint.stale"));

  // Renewed on disk (key first, then the chain), the broker not told.
  const CertFiles renewed = f.server("renewed", d.int2, CertOptions::of("mqtt.lab.local"));
  fs::copy_file(renewed.key, key, fs::copy_options::overwrite_existing);
  fs::copy_file(f.cat("served2.pem", {renewed.cert, d.int2.cert, d.int1.cert}), served,
                fs::copy_options::overwrite_existing);
  REQUIRE(eventually([&] { return has_finding(m = agent.metrics(), target, "endpoint.stale"); }, seconds(20)));
  CHECK(value_of(series(m, "certwatch_probe_success", {"target=\"" + target + "\""}).at(0)) == 1);

  // The reload that was missing: the next probe sees the new leaf.
  REQUIRE(broker.process->signal(SIGHUP));
  REQUIRE(eventually([&] { return !has_finding(m = agent.metrics(), target, "endpoint.stale"); }, seconds(20)));
  CHECK(success());
}

TEST_CASE("agent: STARTTLS endpoints (smtp, postgres) are probed after their dialogue, a refusal is named",
          "[integration][agent][endpoint][starttls]") {
  TempDir tmp;
  PkiFixture f(tmp / "pki");
  const DeepChain d = make_deep_chain(f);
  const fs::path chain = f.cat("served.pem", {d.leaf.cert, d.int2.cert, d.int1.cert});
  StartTlsServer smtp("smtp", chain, d.leaf.key);
  StartTlsServer postgres("postgres", chain, d.leaf.key);
  StartTlsServer refusing("imap", chain, d.leaf.key, StartTlsBehaviour::refuse);
  const auto ep = [](const StartTlsServer& s) { return "127.0.0.1:" + std::to_string(s.port()); };
  const int port = free_port();
  const fs::path config = tmp / "certwatch.yaml";
  write_file(config, config_head(port, tmp / "state", d.bundle) +
                         endpoint_yaml(ep(smtp), "    sni: mqtt.lab.local\n    protocol: smtp\n") +
                         endpoint_yaml(ep(postgres), "    sni: mqtt.lab.local\n    protocol: postgres\n") +
                         endpoint_yaml(ep(refusing), "    sni: mqtt.lab.local\n    protocol: imap\n"));
  AgentProcess agent(tmp.path(), config, port);
  REQUIRE(agent.wait_ready());
  std::string m;
  REQUIRE(eventually([&] { return probes_total(m = agent.metrics()) >= 3; }, seconds(20)));
  INFO(m << agent.log());
  for (const auto* s : {&smtp, &postgres}) {
    const std::string t = ep(*s) + " [127.0.0.1]";
    CHECK(value_of(series(m, "certwatch_probe_success", {"target=\"" + t + "\""}).at(0)) == 1);
    CHECK(value_of(series(m, "certwatch_chain_valid", {"target=\"" + t + "\""}).at(0)) == 1);
    CHECK(series(m, "certwatch_finding", {"target=\"" + t + "\""}).empty());
  }
  const std::string t = ep(refusing) + " [127.0.0.1]";
  CHECK(value_of(series(m, "certwatch_probe_success", {"target=\"" + t + "\""}).at(0)) == 0);
  CHECK(has_finding(m, t, "endpoint.protocol_failed"));
  CHECK(smtp.handshakes() >= 1);
  CHECK(postgres.handshakes() >= 1);
  CHECK(refusing.handshakes() == 0);
}
