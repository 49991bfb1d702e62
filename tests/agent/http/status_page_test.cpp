#include "agent/http/status_page.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <functional>
#include <regex>
#include <string>

using namespace certwatch::agent;

namespace {

InventoryEntry status_entry(const std::string& cn, int64_t not_after,
                            std::vector<certwatch::pki::Finding> findings = {}) {
  InventoryEntry e;
  e.state.emplace<certwatch::agent::FileState>();
  e.file()->watch = "/c";
  e.file()->read_ok = true;
  certwatch::pki::CertRecord c;
  c.role = certwatch::pki::CertRole::leaf;
  c.subject_cn = cn;
  c.subject = "CN=" + cn;
  c.not_after = not_after;
  // The index knows a certificate by its fingerprint: one made up from the name will do.
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016zx", std::hash<std::string>{}(cn));
  c.sha256 = std::string(hex) + hex + hex + hex;
  e.report.certs.push_back(c);
  e.report.findings = std::move(findings);
  return e;
}

}  // namespace

TEST_CASE("status page lists certificates soonest expiry first and escapes names",
          "[agent][status]") {
  Inventory inv;
  (void)inv.observe(certwatch::agent::file_target("/c/late.pem"),
                    status_entry("late.example", 3000));
  (void)inv.observe(
      certwatch::agent::file_target("/c/soon.pem"),
      status_entry("<soon>&co", 2000,
                   {certwatch::pki::Finding{"cert.expires_soon", certwatch::pki::Severity::critical,
                                            "/c/soon.pem#0", "1d left"}}));
  AgentStatus st;
  st.ready = true;
  const std::string html = render_status_html(inv, st, 1000);
  const auto soon = html.find("&lt;soon&gt;&amp;co");
  const auto late = html.find("late.example");
  REQUIRE(soon != std::string::npos);
  REQUIRE(late != std::string::npos);
  CHECK(soon < late);
  CHECK(html.find("<soon>") == std::string::npos);
  CHECK(html.find("cert.expires_soon") != std::string::npos);
}

TEST_CASE("JSON inventory carries certificates, time left and findings", "[agent][status]") {
  Inventory inv;
  (void)inv.observe(
      certwatch::agent::file_target("/c/a.pem"),
      status_entry("a \"quoted\"", 5000,
                   {certwatch::pki::Finding{"leaf.no_san", certwatch::pki::Severity::warning,
                                            "/c/a.pem#0", "no SAN"}}));
  const std::string json = render_certificates_json(inv, 1000);
  CHECK(json.find("\"target\":\"/c/a.pem\"") != std::string::npos);
  // source is the kind, as on the metrics; the watched path is `watch`.
  CHECK(json.find("\"source\":\"file\",\"watch\":\"/c\"") != std::string::npos);
  CHECK(json.find("\"subject_cn\":\"a \\\"quoted\\\"\"") != std::string::npos);
  CHECK(json.find("\"seconds_left\":4000") != std::string::npos);
  CHECK(json.find("\"id\":\"leaf.no_san\",\"severity\":\"warning\"") != std::string::npos);
  CHECK(json.find("\"counts\":{\"certificates\":1,\"places\":1}") != std::string::npos);
  CHECK(render_health(AgentStatus{}) != "ok\n");
}

TEST_CASE(
    "status page: timeline, severity by finding, findings grouped by target, nothing external",
    "[agent][status]") {
  Inventory inv;
  const int64_t now = 1'800'000'000;
  (void)inv.observe(
      certwatch::agent::file_target("/c/a.pem"),
      status_entry("a.example", now + 3 * 86400,
                   {certwatch::pki::Finding{"cert.expires_soon", certwatch::pki::Severity::critical,
                                            "/c/a.pem#0", "3d left"},
                    certwatch::pki::Finding{"chain.incomplete", certwatch::pki::Severity::critical,
                                            "/c/a.pem", "missing CA"}}));
  (void)inv.observe(
      certwatch::agent::file_target("/c/b.pem"),
      status_entry("b.example", now + 200 * 86400,
                   {certwatch::pki::Finding{"leaf.no_san", certwatch::pki::Severity::warning,
                                            "/c/b.pem#0", "no SAN"}}));
  (void)inv.observe(certwatch::agent::file_target("/c/c.pem"),
                    status_entry("c.example", now - 86400));
  AgentStatus st;
  const std::string html = render_status_html(inv, st, now);

  // Every certificate is a table row and a square on the timeline.
  CHECK(html.find("<svg id=\"timeline\"") != std::string::npos);
  std::size_t rects = 0, rows = 0;
  for (auto p = html.find("<rect "); p != std::string::npos; p = html.find("<rect ", p + 1))
    ++rects;
  for (auto p = html.find("<tr class=\""); p != std::string::npos;
       p = html.find("<tr class=\"", p + 1))
    ++rows;
  CHECK(rects == 3);
  // 3 certificates + 1 finding about a place (chain.incomplete); the certificates' own
  // findings are in their rows, not repeated per target.
  CHECK(rows == 3 + 1);
  // The row takes the severity of the certificate's own worst finding; c has none.
  CHECK(std::regex_search(
      html,
      std::regex(
          R"(<tr class="critical" data-sha256="[0-9a-f]{64}"><td data-v="3">critical</td>)")));
  CHECK(std::regex_search(
      html,
      std::regex(R"(<tr class="warning" data-sha256="[0-9a-f]{64}"><td data-v="1">warning</td>)")));
  CHECK(std::regex_search(
      html, std::regex(R"(<tr class="ok" data-sha256="[0-9a-f]{64}"><td data-v="-1">ok</td>)")));
  // Findings about places grouped by target; the whole-file finding says so. A certificate's
  // own findings are listed in its row.
  CHECK(html.find("<section class=\"group\" data-target=\"/c/a.pem\">") != std::string::npos);
  CHECK(html.find("<section class=\"group\" data-target=\"/c/b.pem\">") == std::string::npos);
  CHECK(html.find("<td>chain.incomplete</td><td>whole file</td>") != std::string::npos);
  CHECK(html.find("<code>leaf.no_san</code> no SAN") != std::string::npos);
  CHECK(html.find("Findings about places (1 on 1 targets)") != std::string::npos);
  // Self-contained: no scripts, styles, fonts or images from anywhere else.
  for (const char* external : {"http://", "https://", " src=", "<link", "@import", "url("})
    CHECK(html.find(external) == std::string::npos);
  CHECK(html.find("<script>") != std::string::npos);
}

TEST_CASE("status page shows endpoints' last probes and the renewal schedule", "[agent][status]") {
  Inventory inv;
  InventoryEntry e;
  EndpointState p;
  p.endpoint = "mqtt.lab:8883";
  p.address = "10.0.0.5";
  p.success = false;
  p.tls_version = "TLSv1.3";
  p.probed_at = 1000;
  e.state = p;
  e.report.findings = {
      certwatch::pki::Finding{"endpoint.unreachable", certwatch::pki::Severity::critical,
                              "mqtt.lab:8883 [10.0.0.5]", "connect: Connection refused"}};
  (void)inv.observe({SourceKind::endpoint, "mqtt.lab:8883 [10.0.0.5]"}, std::move(e));
  RenewStatus r;
  r.name = "<broker>";
  r.serial = "0A1B";
  r.not_after = 90000;
  r.due_at = 60000;
  r.next_at = 61000;
  r.failures = 2;
  r.last_error = "reload had no effect";
  AgentStatus st;
  st.ready = true;
  const std::string html = render_status_html(inv, st, 1000, {r});
  CHECK(html.find("<h2>Endpoints</h2>") != std::string::npos);
  CHECK(html.find("<td>mqtt.lab:8883</td><td>10.0.0.5</td><td>failed</td>") != std::string::npos);
  CHECK(html.find("1 endpoint addresses") != std::string::npos);
  CHECK(html.find("<span id=\"certificate-count\">0</span> certificates") != std::string::npos);
  CHECK(html.find("<h2>Renewals</h2>") != std::string::npos);
  CHECK(html.find("<tr class=\"critical\"><td>&lt;broker&gt;</td><td>0A1B</td>") !=
        std::string::npos);
  CHECK(html.find("reload had no effect") != std::string::npos);
  // Without managed certificates or endpoints, neither table.
  const std::string plain = render_status_html(Inventory{}, st, 1000);
  CHECK(plain.find("<h2>Renewals</h2>") == std::string::npos);
  CHECK(plain.find("<h2>Endpoints</h2>") == std::string::npos);
}
