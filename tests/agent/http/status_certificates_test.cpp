// Issue 21: the API and the status page count certificates, not places. One certificate in a
// cert file, a chain file and an endpoint is one certificate with three places; its own
// finding (cert.expired) is listed once; a finding about one file (chain.order) stays with
// that file's place.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agent/http/status_page.h"

using namespace certwatch::agent;
using certwatch::pki::Finding;
using certwatch::pki::Severity;

namespace {

const std::string kLeaf(64, 'a');
const std::string kCa(64, 'c');

certwatch::pki::CertRecord record(const std::string& sha, int index, bool ca) {
  certwatch::pki::CertRecord c;
  c.index = index;
  c.role = ca ? certwatch::pki::CertRole::intermediate : certwatch::pki::CertRole::leaf;
  c.subject_cn = ca ? "Lab CA" : "mqtt.lab";
  c.subject = "CN=" + c.subject_cn;
  c.issuer_cn = "Lab CA";
  c.serial = ca ? "0C" : "0A";
  c.sha256 = sha;
  c.not_after = ca ? 900000 : 500;  // the leaf expired at 500
  return c;
}

InventoryEntry file_entry(const std::string& path, std::vector<certwatch::pki::CertRecord> certs,
                          std::vector<Finding> findings) {
  InventoryEntry e;
  e.state.emplace<FileState>();
  e.file()->watch = "/c";
  e.file()->read_ok = true;
  e.report.target = path;
  e.report.certs = std::move(certs);
  e.report.findings = std::move(findings);
  return e;
}

Finding expired(const std::string& at) {
  return {"cert.expired", Severity::critical, at, "expired 500 s ago"};
}

struct Lab {
  Inventory inv;
  const std::string endpoint = "mqtt.lab:8883 [10.0.0.5]";
  Lab() {
    (void)inv.observe(
        file_target("/c/mqtt.cert.pem"),
        file_entry("/c/mqtt.cert.pem", {record(kLeaf, 0, false)}, {expired("/c/mqtt.cert.pem#0")}));
    // CA first: this file's order is wrong, the other's is not.
    (void)inv.observe(
        file_target("/c/wrong-order.pem"),
        file_entry("/c/wrong-order.pem", {record(kCa, 0, true), record(kLeaf, 1, false)},
                   {expired("/c/wrong-order.pem#1"),
                    {"chain.order", Severity::critical, "/c/wrong-order.pem", "CA before leaf"}}));
    InventoryEntry e;
    EndpointState p;
    p.endpoint = "mqtt.lab:8883";
    p.address = "10.0.0.5";
    p.success = true;
    e.state = p;
    e.report.certs = {record(kLeaf, 0, false)};
    e.report.findings = {expired(endpoint + "#0")};
    (void)inv.observe({SourceKind::endpoint, endpoint}, std::move(e));
  }
};

}  // namespace

TEST_CASE("API: one certificate in two files and an endpoint is one certificate with 3 places",
          "[agent][status]") {
  Lab lab;
  const auto j = nlohmann::json::parse(render_certificates_json(lab.inv, 1000));
  CHECK(j["counts"]["certificates"] == 2);
  CHECK(j["counts"]["places"] == 4);
  REQUIRE(j["certificates"].size() == 2);
  const nlohmann::json* leaf = nullptr;
  for (const auto& c : j["certificates"])
    if (c["fingerprint_sha256"] == kLeaf) leaf = &c;
  REQUIRE(leaf != nullptr);
  CHECK((*leaf)["subject_cn"] == "mqtt.lab");
  CHECK((*leaf)["seconds_left"] == -500);
  CHECK((*leaf)["role"] == "leaf");
  // Its expiry once, although all three places judged it.
  REQUIRE((*leaf)["findings"].size() == 1);
  CHECK((*leaf)["findings"][0]["id"] == "cert.expired");
  const auto& places = (*leaf)["places"];
  REQUIRE(places.size() == 3);
  CHECK(places[0]["target"] == "/c/mqtt.cert.pem");
  CHECK(places[0]["source"] == "file");
  CHECK(places[0]["watch"] == "/c");
  CHECK(places[0]["findings"].empty());
  CHECK(places[1]["target"] == "/c/wrong-order.pem");
  CHECK(places[1]["index"] == 1);
  // The order of that file is that place's problem only.
  REQUIRE(places[1]["findings"].size() == 1);
  CHECK(places[1]["findings"][0]["id"] == "chain.order");
  CHECK(places[2]["source"] == "endpoint");
  CHECK(places[2]["endpoint"] == "mqtt.lab:8883");
  CHECK(places[2]["address"] == "10.0.0.5");
  CHECK(places[2]["findings"].empty());
  // The per-place view is still there, every finding of each place.
  CHECK(j["targets"].size() == 3);
}

TEST_CASE("status page: one row per certificate, its places expandable, each problem once",
          "[agent][status]") {
  Lab lab;
  AgentStatus st;
  st.files = 2;
  const std::string html = render_status_html(lab.inv, st, 1000);
  const auto count = [&](const std::string& needle, std::size_t from = 0,
                         std::size_t to = std::string::npos) {
    std::size_t n = 0;
    for (auto p = html.find(needle, from); p != std::string::npos && p < to;
         p = html.find(needle, p + 1))
      ++n;
    return n;
  };
  CHECK(html.find("<span id=\"certificate-count\">2</span> certificates in <span "
                  "id=\"place-count\">4</span> places") != std::string::npos);
  CHECK(count("<rect ") == 2);  // one mark per certificate
  const auto row = html.find("<tr class=\"critical\" data-sha256=\"" + kLeaf + "\">");
  REQUIRE(row != std::string::npos);
  const auto row_end = html.find("</tr>", row);
  const std::string r = html.substr(row, row_end - row);
  CHECK(r.find("<td data-v=\"3\"><details><summary>3 places</summary>") != std::string::npos);
  CHECK(count("<code>cert.expired</code>") == 1);
  CHECK(count("<code>cert.expired</code>", row, row_end) == 1);
  // chain.order under wrong-order.pem's place, and under no other.
  const auto place = r.find("<li data-target=\"/c/wrong-order.pem\">");
  REQUIRE(place != std::string::npos);
  const auto place_end = r.find("</li></ul></li>", place);
  CHECK(r.find("<code>chain.order</code>") > place);
  CHECK(r.find("<code>chain.order</code>") < place_end);
  CHECK(r.find("<code>chain.order</code>", place_end) == std::string::npos);
  // The CA in wrong-order.pem is a row of its own, and carries that file's problem too.
  CHECK(count("data-sha256=\"") == 2);
  CHECK(html.find("<section class=\"group\" data-target=\"/c/wrong-order.pem\">") !=
        std::string::npos);
  CHECK(html.find("<section class=\"group\" data-target=\"/c/mqtt.cert.pem\">") ==
        std::string::npos);
}

TEST_CASE("a managed entry is a place of its certificate, named after the entry",
          "[agent][status]") {
  Lab lab;
  InventoryEntry e;
  ManagedState m;
  m.name = "broker";
  e.state = m;
  e.report.certs = {record(kLeaf, 0, false)};
  e.report.findings = {expired("managed/broker#0"),
                       {"renewal.failed", Severity::critical, "managed/broker", "CA unreachable"}};
  (void)lab.inv.observe({SourceKind::managed, "managed/broker"}, std::move(e));
  const auto j = nlohmann::json::parse(render_certificates_json(lab.inv, 1000));
  CHECK(j["counts"]["certificates"] == 2);
  CHECK(j["counts"]["places"] == 5);
  for (const auto& c : j["certificates"]) {
    if (c["fingerprint_sha256"] != kLeaf) continue;
    CHECK(c["findings"].size() == 1);  // still one cert.expired
    const nlohmann::json* managed = nullptr;
    for (const auto& p : c["places"])
      if (p["target"] == "managed/broker") managed = &p;
    REQUIRE(managed != nullptr);
    CHECK((*managed)["source"] == "ledger");  // the metrics' word for it
    CHECK((*managed)["managed"] == "broker");
    REQUIRE((*managed)["findings"].size() == 1);
    CHECK((*managed)["findings"][0]["id"] == "renewal.failed");
  }
  const std::string html = render_status_html(lab.inv, AgentStatus{}, 1000);
  CHECK(html.find("<li data-target=\"managed/broker\">managed managed/broker #0 (leaf)<ul "
                  "class=\"place-findings\">") != std::string::npos);
}
