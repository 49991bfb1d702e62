// Issue #12 acceptance 2: a real Prometheus scrapes a real agent with the shipped alert rules
// loaded, and every PromQL expression of the shipped Grafana dashboard is evaluated through
// its HTTP API: no errors, the expiry panels list the watched certificates (soonest first),
// and /api/v1/rules shows every rule evaluated without error. Issue #21: a certificate in two
// files is one alert, one row and one count. Issue #22: the renewal and MQTT panels, on an
// agent that renews a managed certificate and has an mqtt: section, answer with series.
#include <catch2/catch.hpp>
#include <cctype>
#include <ctime>
#include <filesystem>
#include <regex>
#include <set>

#include "integration/agent_harness.h"
#include "integration/pki_cli.h"
#include "support/fixtures.h"
#include "support/pki_fixture.h"

using namespace agent_test;
namespace fs = std::filesystem;

namespace {

// The value of a JSON string literal whose opening quote is at s[pos] (handles \" \\ \/ \n \t;
// the dashboard holds no \u escapes).
std::string json_string_at(const std::string& s, std::size_t pos) {
  std::string out;
  for (std::size_t i = pos + 1; i < s.size() && s[i] != '"'; ++i) {
    if (s[i] != '\\' || i + 1 >= s.size()) {
      out += s[i];
      continue;
    }
    const char c = s[++i];
    out += c == 'n' ? '\n' : c == 't' ? '\t' : c;
  }
  return out;
}

// Every "expr" of the dashboard, and every variable query reduced to its selector
// (label_values(SELECTOR, label) -> SELECTOR).
struct DashQuery {
  std::string panel;  // panel title, for messages
  std::string expr;
  bool instant = true;
};

std::vector<DashQuery> dashboard_queries(const std::string& json) {
  std::vector<DashQuery> out;
  std::string panel = "(templating)";
  const std::regex key(R"re("(title|expr|definition|instant)"\s*:\s*)re");
  for (std::sregex_iterator it(json.begin(), json.end(), key), end; it != end; ++it) {
    const std::string k = (*it)[1];
    const std::size_t vpos = static_cast<std::size_t>(it->position(0) + it->length(0));
    if (k == "instant") {
      if (!out.empty()) out.back().instant = json.compare(vpos, 4, "true") == 0;
      continue;
    }
    if (json[vpos] != '"') continue;
    std::string v = json_string_at(json, vpos);
    if (k == "title") {
      panel = v;
    } else if (k == "expr") {
      out.push_back({panel, v, false});
    } else {  // a variable: label_values(selector, label)
      std::smatch m;
      if (std::regex_match(v, m, std::regex(R"re(label_values\((.*),\s*\w+\))re")))
        out.push_back({"variable " + v, m[1], true});
    }
  }
  return out;
}

// The dashboard's variables with "All" selected, and Grafana's $__rate_interval.
std::string substitute(std::string e) {
  for (const auto& [from, to] : {std::pair<std::string, std::string>{"$host", ".*"},
                                 {"$source", ".*"},
                                 {"$target", ".*"},
                                 {"$__rate_interval", "1m"}}) {
    for (auto p = e.find(from); p != std::string::npos; p = e.find(from, p + to.size()))
      e.replace(p, from.size(), to);
  }
  return e;
}

struct Prom {
  int port;
  testing::RunResult get(const std::string& path, const std::vector<std::string>& params) {
    std::vector<std::string> argv = {"curl", "-sG", "--max-time", "5",
                                     "http://127.0.0.1:" + std::to_string(port) + path};
    for (const auto& p : params) {
      argv.push_back("--data-urlencode");
      argv.push_back(p);
    }
    return testing::run(argv, std::chrono::seconds(10));
  }
};

// subject_cn values in a query answer, in answer order.
std::vector<std::string> subject_cns(const std::string& body) {
  std::vector<std::string> out;
  static const std::regex cn(R"re("subject_cn":"([^"]*)")re");
  for (std::sregex_iterator it(body.begin(), body.end(), cn), end; it != end; ++it)
    out.push_back((*it)[1]);
  return out;
}

std::size_t occurrences(const std::string& text, const std::regex& re) {
  return static_cast<std::size_t>(
      std::distance(std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator()));
}

// The single value of an instant query's answer ("value":[time,"v"]).
std::string scalar_value(const std::string& body) {
  std::smatch m;
  if (!std::regex_search(body, m, std::regex(R"re("value":\[[^,]*,"([^"]*)"\])re"))) return "";
  return m[1];
}

}  // namespace

TEST_CASE(
    "every dashboard query evaluates on a real prometheus scraping the agent, with the rules "
    "loaded",
    "[integration][agent][prometheus][dashboard]") {
  REQUIRE(testing::have_program("prometheus"));
  REQUIRE(testing::have_program("curl"));
  const fs::path dashboard = testing::source_dir() / "exporters" / "grafana" / "certwatch.json";
  const fs::path rules = testing::source_dir() / "exporters" / "prometheus" / "certwatch-rules.yml";
  const std::string dash_json = testing::read_file(dashboard);
  const auto queries = dashboard_queries(dash_json);
  REQUIRE(queries.size() >= 15);

  testing::TempDir dir;
  testing::PkiFixture f(dir / "pki");
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  auto root = f.root("root", testing::CertOptions::of("Dash Root").with_days(3650));
  auto ca = f.ca("ca", root, testing::CertOptions::of("Dash Server CA").with_days(1000));
  // 90-day leaf with 5 days left: critical for the agent (cert.expires_soon) and the rules.
  auto soon = f.server(
      "soon", root,
      testing::CertOptions::of("soon.lab.local").with_days(90).with_not_before(now - 85 * 86400));
  auto mid = f.server("mid", ca, testing::CertOptions::of("mid.lab.local").with_days(45));
  fs::create_directories(dir / "certs");
  fs::copy_file(soon.cert, dir / "certs" / "soon.pem");
  // The same certificate in a second file: two places, one certificate.
  fs::copy_file(soon.cert, dir / "certs" / "soon-copy.pem");
  f.cat("mid.chain.pem", {mid.cert, ca.cert});
  fs::copy_file(f.dir() / "mid.chain.pem", dir / "certs" / "mid.chain.pem");

  const int agent_port = testing::free_port();
  testing::write_file(dir / "certwatch.yaml", agent_config(agent_port, {dir / "certs"}, root.cert));
  AgentProcess agent(dir.path(), dir / "certwatch.yaml", agent_port);
  REQUIRE(agent.wait_ready());

  const auto prom = start_prometheus(dir.path(), agent_port, {rules});
  const int prom_port = prom.port;
  REQUIRE(testing::wait_for_port(prom_port, std::chrono::seconds(20)));
  Prom p{prom_port};

  // Wait (bounded) for the first scrape and one evaluation of every rule.
  std::string rules_body;
  const bool evaluated = testing::eventually(
      [&] {
        if (p.get("/api/v1/query", {"query=certwatch_build_info"}).out.find("\"version\"") ==
            std::string::npos)
          return false;
        rules_body = p.get("/api/v1/rules", {}).out;
        return rules_body.find("\"health\":\"unknown\"") == std::string::npos &&
               rules_body.find("\"health\":\"ok\"") != std::string::npos;
      },
      std::chrono::seconds(30));
  INFO("prometheus log:\n" << testing::read_file(dir / "prometheus.log"));
  REQUIRE(evaluated);

  SECTION("the rules load and evaluate without error") {
    INFO(rules_body);
    const std::string rules_text = testing::read_file(rules);
    std::size_t rule_count = 0;
    std::size_t record_count = 0;
    for (auto pos = rules_text.find("- alert:"); pos != std::string::npos;
         pos = rules_text.find("- alert:", pos + 1))
      ++rule_count;
    for (auto pos = rules_text.find("- record:"); pos != std::string::npos;
         pos = rules_text.find("- record:", pos + 1))
      ++record_count;
    std::size_t ok = 0;
    for (auto pos = rules_body.find("\"health\":\"ok\""); pos != std::string::npos;
         pos = rules_body.find("\"health\":\"ok\"", pos + 1))
      ++ok;
    CHECK(rule_count == 17);
    CHECK(record_count == 3);
    CHECK(ok == rule_count + record_count);
    CHECK(rules_body.find("\"health\":\"err\"") == std::string::npos);
    CHECK(std::regex_search(rules_body, std::regex(R"re("lastError":"[^"])re")) == false);
    // The 5-days-left leaf becomes an alert at the next evaluation after the first scrape
    // (pending: the rule waits 5m before firing); the 45-day one does not.
    std::string alerts;
    const std::regex soon_alert(
        R"re("alertname":"CertwatchCertificateExpiryCritical"[^}]*"subject_cn":"soon.lab.local")re");
    CHECK(testing::eventually(
        [&] {
          alerts = p.get("/api/v1/alerts", {}).out;
          return std::regex_search(alerts, soon_alert);
        },
        std::chrono::seconds(10)));
    INFO(alerts);
    CHECK(alerts.find("mid.lab.local") == std::string::npos);
    // One alert for the certificate, though two files hold it.
    CHECK(occurrences(alerts, soon_alert) == 1);
  }

  SECTION("every dashboard expression evaluates, and the expiry panels list the certificates") {
    // Instant queries at Prometheus' own "now" (a whole-second time= may fall just before the
    // first scrape's timestamp); range queries end a second ahead for the same reason.
    const std::string end_s = std::to_string(std::time(nullptr) + 1);
    const std::string start_s = std::to_string(std::time(nullptr) - 120);
    for (const auto& q : queries) {
      const std::string e = substitute(q.expr);
      INFO(q.panel << ": " << e);
      CHECK(e.find('$') == std::string::npos);
      const auto r = p.get("/api/v1/query", {"query=" + e});
      INFO(r.out);
      CHECK(r.out.find("\"status\":\"success\"") != std::string::npos);
      CHECK(r.out.find("\"warnings\"") == std::string::npos);
      if (!q.instant) {  // graphs are range queries in Grafana
        const auto rr = p.get("/api/v1/query_range",
                              {"query=" + e, "start=" + start_s, "end=" + end_s, "step=15"});
        INFO(rr.out);
        CHECK(rr.out.find("\"status\":\"success\"") != std::string::npos);
      }
    }
    const std::set<std::string> expected = {"soon.lab.local", "mid.lab.local", "Dash Server CA"};
    std::size_t expiry_panels = 0;
    for (const auto& q : queries) {
      if (q.panel != "Soonest-expiring certificates" && q.panel.rfind("Expiry timeline", 0) != 0)
        continue;
      if (q.expr.find("certwatch_cert_not_after_timestamp_seconds") == std::string::npos) continue;
      ++expiry_panels;
      const auto r = p.get("/api/v1/query", {"query=" + substitute(q.expr)});
      INFO(q.panel << "\n" << r.out);
      const auto cns = subject_cns(r.out);
      CHECK(std::set<std::string>(cns.begin(), cns.end()) == expected);
      CHECK(cns.size() == expected.size());  // one row per certificate, not per place
      REQUIRE_FALSE(cns.empty());
      if (q.panel == "Soonest-expiring certificates") CHECK(cns.front() == "soon.lab.local");
    }
    CHECK(expiry_panels == 2);
    // The severity column of the expiry table: the agent's cert.expires_soon of the
    // certificate, by the fingerprint openssl computes, once for its two files.
    const std::string soon_fp = openssl_sha256(soon.cert);
    std::size_t severity_columns = 0;
    for (const auto& q : queries) {
      if (q.panel != "Soonest-expiring certificates" ||
          q.expr.find("certwatch_finding") == std::string::npos)
        continue;
      ++severity_columns;
      const auto r = p.get("/api/v1/query", {"query=" + substitute(q.expr)});
      INFO(r.out);
      CHECK(std::regex_search(r.out, std::regex("\"fingerprint_sha256\":\"" + soon_fp +
                                                "\".*\"severity\":\"critical\"")));
      CHECK(occurrences(r.out, std::regex("\"fingerprint_sha256\"")) == 1);
    }
    CHECK(severity_columns == 1);
    // The counters count certificates: soon (two files), mid and its CA; soon's critical
    // expiry finding counts once.
    for (const auto& q : queries) {
      if (q.panel != "Certificates" && q.panel != "Critical findings") continue;
      const auto r = p.get("/api/v1/query", {"query=" + substitute(q.expr)});
      INFO(q.panel << "\n" << r.out);
      CHECK(scalar_value(r.out) == (q.panel == "Certificates" ? "3" : "1"));
    }
  }
}

TEST_CASE("the renewal and MQTT panels evaluate with their series present",
          "[integration][agent][prometheus][dashboard]") {
  REQUIRE(testing::have_program("prometheus"));
  REQUIRE(testing::have_program("curl"));
  const std::string dash_json =
      testing::read_file(testing::source_dir() / "exporters" / "grafana" / "certwatch.json");
  std::vector<DashQuery> mine;
  for (const auto& q : dashboard_queries(dash_json))
    if (q.expr.find("certwatch_renewal") != std::string::npos ||
        q.expr.find("certwatch_mqtt") != std::string::npos ||
        q.expr.find("renewal\\\\.") != std::string::npos)
      mine.push_back(q);
  REQUIRE(mine.size() >= 12);

  // An agent with one managed certificate (missing at start: renewed at once by the built-in
  // issuer) and a broker that is not there (every MQTT series exists, connected 0).
  testing::TempDir dir;
  const auto pki = dir / "pki";
  pki_cli::ok({"pki", "init", "--dir", pki.string(), "--subject", "/CN=Dash Renew Root"});
  pki_cli::ok({"pki", "ca", "--dir", pki.string(), "--name", "server-ca", "--subject",
               "/CN=Dash Renew CA"});
  fs::create_directories(dir / "watched");
  fs::create_directories(dir / "out");
  const int agent_port = testing::free_port();
  testing::write_file(
      dir / "certwatch.yaml",
      agent_config(agent_port, {dir / "watched"}, std::nullopt) +
          "issuers:\n  - {name: server-ca, pki_dir: " + pki.string() +
          "}\nmanaged:\n  - {name: dash, issuer: server-ca, subject: /CN=dash.lab.local, " +
          "sans: [DNS:dash.lab.local], validity: 30d, cert: " + (dir / "out/dash.crt").string() +
          ", key: " + (dir / "out/dash.key").string() + "}\nmqtt:\n  broker: \"mqtt://127.0.0.1:" +
          std::to_string(testing::free_port()) + "\"\n  topic_prefix: certwatch/dash\n");
  AgentProcess agent(dir.path(), dir / "certwatch.yaml", agent_port);
  REQUIRE(agent.wait_ready());
  REQUIRE(testing::eventually(
      [&] {
        return !series(agent.metrics(), "certwatch_renewals_total", {"result=\"success\""})
                    .empty() &&
               value_of(series(agent.metrics(), "certwatch_renewals_total",
                               {"result=\"success\""})[0]) >= 1;
      },
      std::chrono::seconds(30)));
  const auto prom = start_prometheus(dir.path(), agent_port);
  REQUIRE(testing::wait_for_port(prom.port, std::chrono::seconds(20)));
  Prom p{prom.port};
  // Two scrapes at least, so that rate() and increase() have two samples.
  REQUIRE(testing::eventually(
      [&] {
        const auto r =
            p.get("/api/v1/query", {"query=count_over_time(certwatch_mqtt_connected[1m])"});
        const std::string v = scalar_value(r.out);
        return !v.empty() && std::stod(v) >= 2;
      },
      std::chrono::seconds(30)));
  for (const auto& q : mine) {
    const std::string e = substitute(q.expr);
    INFO(q.panel << ": " << e);
    const auto r = p.get("/api/v1/query", {"query=" + e});
    INFO(r.out);
    CHECK(r.out.find("\"status\":\"success\"") != std::string::npos);
    // certwatch_renewal_served is absent until the agent has asked the server (nothing to ask
    // here), and the managed certificate has no renewal finding: both answer empty.
    const bool may_be_empty = q.expr.find("certwatch_renewal_served") != std::string::npos ||
                              q.expr.find("certwatch_finding") != std::string::npos;
    if (!may_be_empty) CHECK(r.out.find("\"result\":[]") == std::string::npos);
  }
}
