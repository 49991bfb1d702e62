// Issue #22, item 10: a name that resolves to several addresses, one node serving a stale
// certificate. The name resolves through a private mount namespace whose /etc/hosts is the
// test's own (`unshare -m`, a bind mount that never reaches the system's file) to 127.0.0.1
// and 127.0.0.2, where two `openssl s_server` listen on the same port: the first serves the
// deployed certificate, the second the previous one. `certwatch probe --expect-file`, an
// `endpoints:` entry with expect_file, and reconcile (`certwatch renew`, the agent) of a
// managed entry whose verify_endpoint is the name must each name the stale address, and only
// it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cctype>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "integration/renew_harness.h"

namespace multi_address_test {

namespace fs = std::filesystem;
using renew_test::RenewLab;

constexpr const char* kName = "multi.lab.test";

// `argv` in a private mount namespace where /etc/hosts is `hosts`.
std::vector<std::string> with_hosts(const fs::path& hosts, const std::vector<std::string>& argv) {
  std::vector<std::string> out{
      "unshare", "-m", "sh", "-c", "mount --bind \"$0\" /etc/hosts && exec \"$@\"", hosts.string()};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

// The serial after `words` in `text`, without leading zeros ("" when `words` is not there): the
// agent spells serials with whole bytes, openssl without leading zeros.
std::string serial_after(const std::string& text, const std::string& words) {
  const auto at = text.find(words);
  if (at == std::string::npos) return {};
  std::string hex;
  for (auto i = at + words.size();
       i < text.size() && std::isxdigit(static_cast<unsigned char>(text[i])); ++i)
    hex += text[i];
  return agent_test::strip_zeros(hex);
}

bool accepts(const std::string& ip, int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, ip.c_str(), &sa.sin_addr);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  ::close(fd);
  return ok;
}

// One node: s_server on ip:port serving the set in `dir`.
std::unique_ptr<testing::Process> start_node(const fs::path& log_dir, const std::string& ip,
                                             int port, const fs::path& dir) {
  auto p = std::make_unique<testing::Process>(
      std::vector<std::string>{"openssl", "s_server", "-accept", ip + ":" + std::to_string(port),
                               "-cert", (dir / "server.cert.pem").string(), "-key",
                               (dir / "server.key.pem").string(), "-quiet", "-no-CAfile",
                               "-no-CApath", "-no-CAstore"},
      log_dir / ("node-" + ip + ".log"));
  REQUIRE(testing::eventually([&] { return accepts(ip, port); }, std::chrono::seconds(10)));
  return p;
}

// A managed entry for the name (verify_endpoint the name when `ask`), and the endpoint of the
// name with expect_file the managed certificate (when `ask`).
std::string config(const RenewLab& lab, int port, bool ask) {
  const std::string target = std::string(kName) + ":" + std::to_string(port);
  std::string y = "agent:\n  state_dir: " + lab.state.string() +
                  "\nhttp:\n  listen: \"127.0.0.1:" + std::to_string(lab.http_port) +
                  "\"\ntrust:\n  - " + (lab.pki / "ca-bundle.pem").string() + "\n";
  if (ask)
    y += "endpoints:\n  - target: \"" + target +
         "\"\n    interval: 5m\n    expect_file: " + (lab.certs / "server.cert.pem").string() +
         "\n";
  y += "issuers:\n  - {name: server-ca, pki_dir: " + lab.pki.string() +
       "}\nmanaged:\n  - name: broker\n    issuer: server-ca\n    subject: /CN=" + kName +
       "\n    sans: [DNS:" + kName +
       "]\n    validity: 1h\n    cert: " + (lab.certs / "server.cert.pem").string() +
       "\n    key: " + (lab.certs / "server.key.pem").string() +
       "\n    reload: {command: [true]}\n";
  if (ask) y += "    verify_endpoint: \"" + target + "\"\n";
  return y;
}

}  // namespace multi_address_test

TEST_CASE(
    "multi-address: the one stale node of a name is named by probe, the endpoint source and "
    "reconcile",
    "[integration][probe][renew][reconcile]") {
  namespace ma = multi_address_test;
  if (!testing::have_program("unshare")) FAIL("unshare (util-linux) is not installed");
  testing::TempDir tmp;
  ma::RenewLab lab(tmp.path());
  const int port = testing::free_port();
  const auto hosts = tmp / "hosts";
  testing::write_file(hosts, std::string("127.0.0.1 localhost\n127.0.0.1 ") + ma::kName +
                                 "\n127.0.0.2 " + ma::kName + "\n");
  // The previous set stays on the second node; the deployed one is new.
  const auto quiet = tmp / "quiet.yaml";
  testing::write_file(quiet, ma::config(lab, port, false));
  REQUIRE(lab.renew(quiet).exit_code == 0);
  const auto node2 = tmp / "node2";
  fs::create_directories(node2);
  for (const char* f : {"server.cert.pem", "server.key.pem"})
    fs::copy_file(lab.certs / f, node2 / f);
  REQUIRE(lab.renew(quiet, {"--force"}).exit_code == 0);
  const auto deployed = agent_test::openssl_serial(lab.certs / "server.cert.pem");
  const auto stale = agent_test::openssl_serial(node2 / "server.cert.pem");
  REQUIRE(deployed != stale);
  auto node1_server = ma::start_node(tmp.path(), "127.0.0.1", port, lab.certs);
  auto node2_server = ma::start_node(tmp.path(), "127.0.0.2", port, node2);
  const std::string target = std::string(ma::kName) + ":" + std::to_string(port);

  // 1. certwatch probe --expect-file: both addresses judged, the second one stale.
  {
    auto r = testing::run(
        ma::with_hosts(hosts, {testing::certwatch_bin().string(), "probe", target, "--expect-file",
                               (lab.certs / "server.cert.pem").string(), "--ca-bundle",
                               (lab.pki / "ca-bundle.pem").string(), "--json"}),
        std::chrono::seconds(60));
    INFO(r.out << r.err);
    CHECK(r.exit_code == 2);
    const auto doc = nlohmann::json::parse(r.out);
    int stale_at_1 = 0, stale_at_2 = 0, reports = 0;
    for (const auto& c : doc["certificates"])
      if (c["index"] == 0) ++reports;
    for (const auto& f : doc["findings"]) {
      if (f["id"] != "endpoint.stale") continue;
      const auto where = f["target"].get<std::string>();
      if (where.find("[127.0.0.1]") != std::string::npos) ++stale_at_1;
      if (where.find("[127.0.0.2]") != std::string::npos) ++stale_at_2;
    }
    CHECK(reports == 2);
    CHECK(stale_at_1 == 0);
    CHECK(stale_at_2 == 1);
  }

  // 2. certwatch renew (not due): reconcile names the stale address; a reload does not fix it.
  const auto cfg = tmp / "certwatch.yaml";
  testing::write_file(cfg, ma::config(lab, port, true));
  {
    auto r = testing::run(ma::with_hosts(hosts, {testing::certwatch_bin().string(), "renew", "-c",
                                                 cfg.string(), "broker"}),
                          std::chrono::seconds(120));
    INFO(r.out << r.err);
    CHECK(r.exit_code == 2);
    CHECK(ma::serial_after(r.err, "127.0.0.2 serves serial ") == stale);
    CHECK(ma::serial_after(r.err, "127.0.0.2 still serves serial ") == stale);
    CHECK(r.err.find("127.0.0.1 serves") == std::string::npos);
    CHECK(r.err.find("127.0.0.1 still serves") == std::string::npos);
  }

  // 3. a forced renewal: neither node serves the new leaf (s_server does not reload), and the
  // transaction's proof names each of them, not only the last one.
  {
    auto r = testing::run(ma::with_hosts(hosts, {testing::certwatch_bin().string(), "renew", "-c",
                                                 cfg.string(), "broker", "--force"}),
                          std::chrono::seconds(120));
    INFO(r.out << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("does not serve the new certificate") != std::string::npos);
    CHECK(ma::serial_after(r.err, "127.0.0.1 still serves serial ") == deployed);
    CHECK(ma::serial_after(r.err, "127.0.0.2 still serves serial ") == stale);
    CHECK(agent_test::openssl_serial(lab.certs / "server.cert.pem") == deployed);  // restored
  }

  // 4. the agent: endpoint.stale on the second address only; renewal.failed naming it, served 0.
  {
    const auto log = tmp / "agent.log";
    testing::Process agent(
        ma::with_hosts(hosts, {testing::certwatch_bin().string(), "agent", "-c", cfg.string()}),
        log);
    const auto served = [&] {
      const auto s = agent_test::series(agent_test::http_get(lab.http_port, "/metrics").body,
                                        "certwatch_renewal_served", {"name=\"broker\""});
      return s.empty() ? -1.0 : agent_test::value_of(s.front());
    };
    INFO(testing::read_file(log));
    REQUIRE(testing::eventually([&] { return served() == 0; }, std::chrono::seconds(60)));
    const auto metrics = agent_test::http_get(lab.http_port, "/metrics").body;
    CHECK(agent_test::series(metrics, "certwatch_finding", {"id=\"endpoint.stale\"", "[127.0.0.2]"})
              .size() == 1);
    CHECK(agent_test::series(metrics, "certwatch_finding", {"id=\"endpoint.stale\"", "[127.0.0.1]"})
              .empty());
    const auto api =
        nlohmann::json::parse(agent_test::http_get(lab.http_port, "/api/v1/renewals").body);
    const auto& row = api["renewals"][0];
    INFO(row.dump());
    CHECK(row["served"] == false);
    const auto why = row["last_error"].get<std::string>();
    CHECK(ma::serial_after(why, "127.0.0.2 serves serial ") == stale);
    CHECK(why.find("127.0.0.1 serves") == std::string::npos);
  }

  // 5. the second node gets the deployed set: reconcile says it is served everywhere.
  node2_server.reset();
  REQUIRE(testing::eventually([&] { return !ma::accepts("127.0.0.2", port); },
                              std::chrono::seconds(10)));
  node2_server = ma::start_node(tmp.path(), "127.0.0.2", port, lab.certs);
  {
    auto r = testing::run(ma::with_hosts(hosts, {testing::certwatch_bin().string(), "renew", "-c",
                                                 cfg.string(), "broker"}),
                          std::chrono::seconds(120));
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("serves the deployed certificate (serial ") != std::string::npos);
  }
}
