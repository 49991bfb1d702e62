// Issue #12 acceptance 3: the status page in a real browser (Debian's headless `chromium`):
// it loads without console messages (errors, uncaught exceptions), shows every certificate
// (one row each, issue 21), its places and every finding the agent reports on
// /api/v1/certificates, sorts when a column header is
// clicked (the page replays the clicks named in #sort=KEY[-desc]; --dump-dom shows the
// result), and a screenshot is written into the build tree (test-artifacts/, not committed).
#include <catch2/catch.hpp>
#include <cctype>
#include <ctime>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "integration/agent_harness.h"
#include "integration/chromium.h"
#include "support/fixtures.h"
#include "support/pki_fixture.h"

using namespace agent_test;
using chromium_test::Browser;
using chromium_test::console_lines;
namespace fs = std::filesystem;

namespace {

// Text as the page's script compares it: entities decoded, lower case.
std::string sort_key(std::string s) {
  for (const auto& [from, to] : {std::pair<std::string, std::string>{"&lt;", "<"},
                                 {"&gt;", ">"},
                                 {"&quot;", "\""},
                                 {"&#39;", "'"},
                                 {"&amp;", "&"}})
    for (auto p = s.find(from); p != std::string::npos; p = s.find(from, p + 1))
      s.replace(p, from.size(), to);
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

struct Row {
  std::string severity, sha256, left_v, subject, html;  // html: the whole row
};

// The certificate rows of the dumped DOM, in document order.
std::vector<Row> cert_rows(const std::string& dom) {
  std::vector<Row> out;
  const auto start = dom.find("<table id=\"certs\">");
  const auto end = dom.find("</table>", start);
  if (start == std::string::npos || end == std::string::npos) return out;
  const std::string t = dom.substr(start, end - start);
  static const std::regex row(
      R"re(<tr class="[a-z]+" data-sha256="([0-9a-f]{64})"[^>]*><td data-v="[-0-9]+">([a-z]+)</td><td data-v="[0-9]+">[^<]*</td><td data-v="([-0-9]+)">[^<]*</td><td>([^<]*)</td>)re");
  for (std::sregex_iterator it(t.begin(), t.end(), row), e; it != e; ++it) {
    const auto from = static_cast<std::size_t>(it->position(0));
    out.push_back(
        {(*it)[2], (*it)[1], (*it)[3], (*it)[4], t.substr(from, t.find("</tr>", from) - from)});
  }
  return out;
}

}  // namespace

TEST_CASE(
    "the status page in headless chromium: no console errors, everything shown, sorts, screenshot",
    "[integration][agent][status][chromium]") {
  REQUIRE(testing::have_program("chromium"));
  testing::TempDir dir;
  Browser browser{dir / "chromium-profile"};

  // The console check itself: a page with an error and an exception is caught.
  testing::write_file(dir / "bad.html",
                      "<!DOCTYPE html><p>x</p><script>console.error('boom'); nosuchfn();</script>");
  const auto bad = browser.run({"--dump-dom"}, "file://" + (dir / "bad.html").string());
  REQUIRE(console_lines(bad.err).size() == 2);

  testing::PkiFixture f(dir / "pki");
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  auto root = f.root("root", testing::CertOptions::of("Page Root").with_days(3650));
  auto soon = f.server(
      "soon", root,
      testing::CertOptions::of("soon.lab.local").with_days(90).with_not_before(now - 88 * 86400));
  auto later =
      f.server("later", root, testing::CertOptions::of("<b>later</b>.lab.local").with_days(300));
  fs::create_directories(dir / "certs");
  fs::copy_file(soon.cert, dir / "certs" / "soon.pem");
  fs::copy_file(later.cert, dir / "certs" / "later.pem");
  f.cat("reversed.pem", {root.cert, later.cert});  // chain.leaf_not_first and friends
  fs::copy_file(f.dir() / "reversed.pem", dir / "certs" / "reversed.pem");
  testing::write_file(dir / "certs" / "garbage.pem", "-----BEGIN CERTIFICATE-----\nnot base64\n");

  const int port = testing::free_port();
  testing::write_file(dir / "certwatch.yaml", agent_config(port, {dir / "certs"}, root.cert));
  AgentProcess agent(dir.path(), dir / "certwatch.yaml", port);
  REQUIRE(agent.wait_ready());

  // The oracle: what the agent reports in its JSON inventory, by certificate.
  const std::string api = http_get(port, "/api/v1/certificates").body;
  INFO(api);
  const auto j = nlohmann::json::parse(api);
  std::map<std::string, std::set<std::string>> expected_places;  // sha256 -> "target #index"
  std::set<std::string> cert_findings;                           // "sha256 id"
  std::set<std::string> place_findings;                          // "target id"
  for (const auto& c : j["certificates"]) {
    const std::string sha = c["fingerprint_sha256"];
    for (const auto& f : c["findings"])
      cert_findings.insert(sha + " " + f["id"].get<std::string>());
    for (const auto& p : c["places"]) {
      expected_places[sha].insert(p["target"].get<std::string>() + " #" +
                                  std::to_string(p["index"].get<int>()));
      for (const auto& f : p["findings"])
        place_findings.insert(p["target"].get<std::string>() + " " + f["id"].get<std::string>());
    }
  }
  for (const auto& t : j["targets"])  // findings of a place that holds no certificate (garbage.pem)
    if (t["certificates"].empty())
      for (const auto& f : t["findings"])
        place_findings.insert(t["target"].get<std::string>() + " " + f["id"].get<std::string>());
  // soon, later (in later.pem and reversed.pem) and the root (in reversed.pem): 3 certificates in 4
  // places.
  REQUIRE(expected_places.size() == 3);
  CHECK(j["counts"]["certificates"] == 3);
  CHECK(j["counts"]["places"] == 4);
  REQUIRE(cert_findings.size() >= 1);   // expires_soon on soon
  REQUIRE(place_findings.size() >= 2);  // chain.* on reversed.pem, input.* on garbage.pem

  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";

  SECTION("loads without console messages and shows every certificate and finding") {
    const auto r = browser.run({"--dump-dom"}, url);
    INFO(r.err);
    CHECK(console_lines(r.err).empty());
    REQUIRE(r.out.find("data-ready=\"1\"") != std::string::npos);  // the script ran to its end
    CHECK(r.out.find("<svg id=\"timeline\"") != std::string::npos);
    const auto rows = cert_rows(r.out);
    CHECK(rows.size() == expected_places.size());
    for (const auto& row : rows) {
      INFO(row.html);
      REQUIRE(expected_places.count(row.sha256) == 1);
      // Every place of it in its expandable list, and its own findings once, in its row.
      const auto& places = expected_places.at(row.sha256);
      CHECK(row.html.find("<summary>" + std::to_string(places.size()) +
                          (places.size() == 1 ? " place" : " places") + "</summary>") !=
            std::string::npos);
      for (const auto& place : places) {
        const std::string target = place.substr(0, place.rfind(" #"));
        CHECK(row.html.find("<li data-target=\"" + target + "\">") != std::string::npos);
        CHECK(row.html.find(target + place.substr(place.rfind(" #"))) != std::string::npos);
      }
      for (const auto& sf : cert_findings)
        if (sf.compare(0, 64, row.sha256) == 0)
          CHECK(row.html.find("<code>" + sf.substr(65) + "</code>") != std::string::npos);
    }
    std::set<std::string> shown;
    for (const auto& row : rows) shown.insert(row.sha256);
    CHECK(shown.size() == rows.size());  // each certificate once
    CHECK(r.out.find("&lt;b&gt;later&lt;/b&gt;.lab.local") !=
          std::string::npos);  // escaped, not markup
    CHECK(r.out.find("<span id=\"certificate-count\">3</span> certificates in <span "
                     "id=\"place-count\">4</span> places") != std::string::npos);
    // Every finding about a place, in the group of its target.
    for (const auto& tid : place_findings) {
      const std::string file = tid.substr(0, tid.find(' '));
      const std::string id = tid.substr(tid.find(' ') + 1);
      const auto group = r.out.find("<section class=\"group\" data-target=\"" + file + "\"");
      INFO(tid);
      REQUIRE(group != std::string::npos);
      const auto group_end = r.out.find("</section>", group);
      CHECK(r.out.substr(group, group_end - group).find("<td>" + id + "</td>") !=
            std::string::npos);
    }
    // Soonest expiry first by default; the soon leaf carries the agent's critical severity.
    REQUIRE_FALSE(rows.empty());
    CHECK(rows.front().subject == "soon.lab.local");
    CHECK(rows.front().severity == "critical");
  }

  SECTION("clicking a column sorts, again reverses") {
    const auto by_subject = browser.run({"--dump-dom"}, url + "#sort=subject");
    INFO(by_subject.err);
    CHECK(console_lines(by_subject.err).empty());
    auto rows = cert_rows(by_subject.out);
    REQUIRE(rows.size() == expected_places.size());
    for (std::size_t i = 1; i < rows.size(); ++i) {
      INFO(rows[i - 1].subject << " / " << rows[i].subject);
      CHECK(sort_key(rows[i - 1].subject) <= sort_key(rows[i].subject));
    }
    CHECK(rows.front().subject != "soon.lab.local");  // not the server's order any more
    CHECK(std::regex_search(by_subject.out,
                            std::regex(R"re(data-key="subject"[^>]*aria-sort="ascending")re")));

    const auto by_left = browser.run({"--dump-dom"}, url + "#sort=left-desc");
    rows = cert_rows(by_left.out);
    REQUIRE(rows.size() == expected_places.size());
    for (std::size_t i = 1; i < rows.size(); ++i)
      CHECK(std::stoll(rows[i - 1].left_v) >= std::stoll(rows[i].left_v));
    CHECK(rows.back().subject == "soon.lab.local");
    CHECK(std::regex_search(by_left.out,
                            std::regex(R"re(data-key="left"[^>]*aria-sort="descending")re")));

    // Filtering hides what does not match; a row matches by any of its places (later and the root).
    const auto filtered = browser.run({"--dump-dom"}, url + "#filter=reversed");
    CHECK(filtered.out.find("<span id=\"shown\">2</span>") != std::string::npos);
  }

  SECTION("a screenshot lands in the build tree") {
    const fs::path out =
        testing::certwatch_bin().parent_path().parent_path() / "test-artifacts" / "status_page.png";
    fs::create_directories(out.parent_path());
    fs::remove(out);
    const auto r = browser.run(
        {"--screenshot=" + out.string(), "--window-size=1280,1400", "--hide-scrollbars"}, url);
    INFO(r.err);
    CHECK(console_lines(r.err).empty());
    REQUIRE(fs::exists(out));
    const std::string png = testing::read_file(out);
    CHECK(png.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
    CHECK(png.size() > 20000);  // a rendered page, not a blank one
  }
}
