// Issue 21 acceptance 3: the README's demo, run by scripts/demo.sh itself (in a temp directory,
// on free ports, with the binary of this build), holds 7 distinct certificates; the API and the
// status page in headless Chromium count each once, with exactly the places it lives in (files,
// endpoints, the managed entry, ledger rows named after the CA that issued them). The oracle
// for each certificate's identity is `openssl x509 -fingerprint -sha256` of the demo's files.
// A screenshot lands in the build tree (test-artifacts/demo_status_page.png, not committed).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "integration/agent_harness.h"
#include "integration/chromium.h"
#include "support/fixtures.h"

using namespace agent_test;
namespace fs = std::filesystem;

namespace {

bool port_free(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// The demo's brokers listen on P and P + 1: both must be free.
int free_port_pair() {
  for (int i = 0; i < 50; ++i) {
    const int p = testing::free_port();
    if (p < 65535 && port_free(p + 1)) return p;
  }
  throw std::runtime_error("no two adjacent free ports");
}

// demo.sh runs the agent in the foreground and both mosquittos in the background, all in the
// process group testing::Process made: end the whole group, even when a check failed.
struct GroupGuard {
  int pgid;
  ~GroupGuard() {
    ::kill(-pgid, SIGTERM);
    testing::sleep_ms(500);
    ::kill(-pgid, SIGKILL);
  }
};


// A ledger target "<ca>/<name>/<serial>" with the serial's leading zeros dropped, as
// openssl_serial() gives it; other targets as they are.
std::string normal_target(std::string t) {
  if (t.empty() || t[0] == '/' || std::count(t.begin(), t.end(), '/') != 2) return t;
  auto p = t.rfind('/') + 1;
  while (p + 1 < t.size() && t[p] == '0') t.erase(p, 1);
  return t;
}

struct Expected {
  std::string name;  // for messages
  std::string sha256;
  std::set<std::string> places;  // "<target> #<index>"
};

// What differs between the API and the demo's files; empty when they agree.
std::vector<std::string> compare(const nlohmann::json& j, const std::vector<Expected>& want) {
  std::vector<std::string> problems;
  if (!j.contains("certificates") || !j.contains("counts")) return {"no certificates or counts"};
  if (j["counts"]["certificates"] != want.size())
    problems.push_back("counts.certificates is " + j["counts"]["certificates"].dump());
  std::size_t places = 0;
  for (const auto& w : want) places += w.places.size();
  if (j["counts"]["places"] != places)
    problems.push_back("counts.places is " + j["counts"]["places"].dump());
  for (const auto& w : want) {
    std::size_t seen = 0;
    for (const auto& c : j["certificates"]) {
      if (c["fingerprint_sha256"] != w.sha256) continue;
      ++seen;
      std::set<std::string> got;
      for (const auto& p : c["places"])
        got.insert(normal_target(p["target"].get<std::string>()) + " #" + p["index"].dump());
      if (got != w.places) problems.push_back(w.name + ": places " + c["places"].dump());
      std::set<std::string> ids;
      for (const auto& f : c["findings"])
        if (!ids.insert(f["id"].get<std::string>()).second)
          problems.push_back(w.name + ": twice " + f.dump());
    }
    if (seen != 1)
      problems.push_back(w.name + " (" + w.sha256 + ") listed " + std::to_string(seen) + " times");
  }
  return problems;
}

}  // namespace

TEST_CASE(
    "the README demo: API and status page in chromium count its 7 certificates once, with their "
    "places",
    "[integration][agent][status][chromium][demo]") {
  REQUIRE(testing::have_program("chromium"));
  REQUIRE(testing::have_program("mosquitto"));
  testing::TempDir dir;
  const fs::path demo = fs::weakly_canonical(dir / "demo");
  const int port = testing::free_port();
  const int mqtt_port = free_port_pair();
  testing::Process script(
      {"bash", (testing::source_dir() / "scripts" / "demo.sh").string()}, dir / "demo.log",
      {"CERTWATCH_DEMO_DIR=" + demo.string(), "CERTWATCH_BIN=" + testing::certwatch_bin().string(),
       "CERTWATCH_DEMO_PORT=" + std::to_string(port),
       "CERTWATCH_DEMO_MQTT_PORT=" + std::to_string(mqtt_port),
       // demo.sh makes its PKI under faketime (an LD_PRELOAD) with this build's binary
       testing::asan_options_beside_preload()});
  GroupGuard guard{script.pid()};
  // Making the PKI takes a few seconds, more under faketime on a loaded machine.
  if (!testing::eventually([&] { return http_get(port, "/healthz").status == 200; },
                           std::chrono::seconds(120)))
    FAIL("the demo's agent never answered /healthz:\n" << testing::read_file(dir / "demo.log"));

  const fs::path broker = demo / "certs" / "broker", devices = demo / "certs" / "devices";
  const std::string ep = "127.0.0.1:" + std::to_string(mqtt_port) + " [127.0.0.1]";
  const std::string renew_ep = "127.0.0.1:" + std::to_string(mqtt_port + 1) + " [127.0.0.1]";
  const auto at = [](const fs::path& p, int i) { return p.string() + " #" + std::to_string(i); };
  const auto row = [&](const std::string& ca, const std::string& name, const fs::path& pem) {
    return ca + "/" + name + "/" + openssl_serial(pem) + " #0";
  };
  const auto expected = [&] {
    // The managed certificate is read each time: the agent renews it every few minutes.
    return std::vector<Expected>{
        {"mqtt leaf",
         agent_test::openssl_sha256(broker / "mqtt.cert.pem"),
         {at(broker / "mqtt.chain.pem", 0), at(broker / "wrong-order.pem", 1), ep + " #0",
          row("server-ca", "mqtt", broker / "mqtt.cert.pem")}},
        {"server CA",
         agent_test::openssl_sha256(demo / "pki" / "server-ca" / "certs" / "server-ca.cert.pem"),
         {at(broker / "mqtt.chain.pem", 1), at(broker / "wrong-order.pem", 0), ep + " #1",
          renew_ep + " #1", "managed/demo-broker #1"}},
        {"sensor-1",
         agent_test::openssl_sha256(devices / "sensor-1.cert.pem"),
         {at(devices / "sensor-1.cert.pem", 0), at(devices / "sensor-1.chain.pem", 0),
          row("device-ca", "sensor-1", devices / "sensor-1.cert.pem")}},
        {"device CA",
         agent_test::openssl_sha256(demo / "pki" / "device-ca" / "certs" / "device-ca.cert.pem"),
         {at(devices / "sensor-1.chain.pem", 1), at(devices / "sensor-2.chain.pem", 1)}},
        {"sensor-2",
         agent_test::openssl_sha256(devices / "sensor-2.cert.pem"),
         {at(devices / "sensor-2.cert.pem", 0), at(devices / "sensor-2.chain.pem", 0),
          row("device-ca", "sensor-2", devices / "sensor-2.cert.pem")}},
        {"probe client",
         agent_test::openssl_sha256(demo / "probe" / "probe.cert.pem"),
         {row("device-ca", "probe", demo / "probe" / "probe.cert.pem")}},
        // A managed entry's current certificate is the managed place, not a ledger target too.
        {"managed broker",
         agent_test::openssl_sha256(demo / "managed" / "broker.cert.pem"),
         {renew_ep + " #0", "managed/demo-broker #0"}},
    };
  };

  // Both endpoints probed and the managed certificate in place: then the API must agree.
  nlohmann::json api;
  std::vector<Expected> want;
  std::vector<std::string> problems;
  testing::eventually(
      [&] {
        api = nlohmann::json::parse(http_get(port, "/api/v1/certificates").body, nullptr, false);
        want = expected();
        problems = api.is_discarded() ? std::vector<std::string>{"not JSON"} : compare(api, want);
        return problems.empty();
      },
      std::chrono::seconds(60));
  REQUIRE_FALSE(api.is_discarded());
  std::string why;
  for (const auto& p : problems) why += p + "\n";
  INFO(why << api.dump(1));
  CHECK(problems.empty());
  REQUIRE(want.size() == 7);
  CHECK(api["counts"]["certificates"] == 7);
  // Certificate facts come from the certificate: sensor-2's issuer is the device CA's CN.
  for (const auto& c : api["certificates"])
    if (c["fingerprint_sha256"] == want[4].sha256) {
      CHECK(c["issuer_cn"] == "Demo Device CA");
      CHECK(c["subject_cn"] == "sensor-2.demo.local");
    }

  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
  const fs::path profile = dir / "chromium-profile";
  // One demo for both looks at the page (a SECTION would start it again).
  {  // the page: one row per certificate, its places listed under it
    const auto r = chromium_test::Browser{profile}.run({"--dump-dom"}, url);
    INFO(r.err);
    CHECK(chromium_test::console_lines(r.err).empty());
    REQUIRE(r.out.find("data-ready=\"1\"") != std::string::npos);
    CHECK(r.out.find("<span id=\"certificate-count\">7</span> certificates") != std::string::npos);
    const auto table = r.out.find("<table id=\"certs\">");
    REQUIRE(table != std::string::npos);
    const std::string t = r.out.substr(table, r.out.find("</table>", table) - table);
    static const std::regex row_re(R"re(<tr class="[a-z]+" data-sha256="([0-9a-f]{64})")re");
    std::vector<std::string> rows;
    for (std::sregex_iterator it(t.begin(), t.end(), row_re), e; it != e; ++it)
      rows.push_back((*it)[1]);
    CHECK(rows.size() == 7);
    for (const auto& w : want) {
      INFO(w.name);
      CHECK(std::count(rows.begin(), rows.end(), w.sha256) == 1);
      const auto from = t.find("data-sha256=\"" + w.sha256 + "\"");
      if (from == std::string::npos) continue;
      const std::string html = t.substr(from, t.find("</tr>", from) - from);
      CHECK(html.find("<summary>" + std::to_string(w.places.size()) +
                      (w.places.size() == 1 ? " place" : " places") + "</summary>") !=
            std::string::npos);
      for (const auto& p : w.places) {
        const std::string target = p.substr(0, p.rfind(" #"));
        INFO(p);
        CHECK(html.find("<li data-target=\"" + target + "\">") != std::string::npos);
        CHECK(html.find(target + p.substr(p.rfind(" #"))) != std::string::npos);
      }
    }
    // The timeline: one mark per certificate.
    const auto svg = r.out.find("<svg id=\"timeline\"");
    REQUIRE(svg != std::string::npos);
    const std::string s = r.out.substr(svg, r.out.find("</svg>", svg) - svg);
    std::size_t rects = 0;
    for (auto p = s.find("<rect "); p != std::string::npos; p = s.find("<rect ", p + 1)) ++rects;
    CHECK(rects == 7);
  }

  {  // a screenshot lands in the build tree
    const fs::path out = testing::certwatch_bin().parent_path().parent_path() / "test-artifacts" /
                         "demo_status_page.png";
    fs::create_directories(out.parent_path());
    fs::remove(out);
    const auto r = chromium_test::Browser{profile}.run(
        {"--screenshot=" + out.string(), "--window-size=1280,1600", "--hide-scrollbars"}, url);
    INFO(r.err);
    CHECK(chromium_test::console_lines(r.err).empty());
    REQUIRE(fs::exists(out));
    const std::string png = testing::read_file(out);
    CHECK(png.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
    CHECK(png.size() > 20000);
  }
}
