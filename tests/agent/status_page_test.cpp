#include <catch2/catch.hpp>
#include <string>

#include "agent/status_page.h"

using namespace certwatch::agent;

namespace {

InventoryEntry entry(const std::string& cn, int64_t not_after, std::vector<pki::Finding> findings = {}) {
  InventoryEntry e;
  e.source = "/c";
  e.read_ok = true;
  pki::CertRecord c;
  c.role = "leaf";
  c.subject_cn = cn;
  c.subject = "CN=" + cn;
  c.not_after = not_after;
  e.report.certs.push_back(c);
  e.report.findings = std::move(findings);
  return e;
}

}  // namespace

TEST_CASE("status page lists certificates soonest expiry first and escapes names", "[agent][status]") {
  Inventory inv;
  (void)inv.observe("/c/late.pem", entry("late.example", 3000));
  (void)inv.observe("/c/soon.pem", entry("<soon>&co", 2000,
                                         {pki::Finding{"cert.expires_soon", pki::Severity::critical, "/c/soon.pem#0", "1d left"}}));
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
  (void)inv.observe("/c/a.pem", entry("a \"quoted\"", 5000,
                                      {pki::Finding{"leaf.no_san", pki::Severity::warning, "/c/a.pem#0", "no SAN"}}));
  const std::string json = render_certificates_json(inv, 1000);
  CHECK(json.find("\"target\":\"/c/a.pem\"") != std::string::npos);
  // source is the kind, as on the metrics; the watched path is `watch`.
  CHECK(json.find("\"source\":\"file\",\"watch\":\"/c\"") != std::string::npos);
  CHECK(json.find("\"subject_cn\":\"a \\\"quoted\\\"\"") != std::string::npos);
  CHECK(json.find("\"seconds_left\":4000") != std::string::npos);
  CHECK(json.find("\"id\":\"leaf.no_san\",\"severity\":\"warning\"") != std::string::npos);
  CHECK(render_health(AgentStatus{}) != "ok\n");
}
