// Issue 15 against the real binary: hostile files, names and configs must not stall, blind or
// fool the agent.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "integration/agent_harness.h"
#include "support/fixtures.h"
#include "support/hostile_certs.h"
#include "support/pki_fixture.h"

using namespace agent_test;
using testing::CertOptions;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

struct Setup {
  testing::TempDir dir;
  fs::path certs = dir / "certs";
  int port = testing::free_port();
  testing::PkiFixture f{dir / "pki"};
  testing::CertFiles root = f.root("root", CertOptions::of("Hostile Root").with_days(3650));
  Setup() { fs::create_directories(certs); }
  testing::CertFiles leaf(const std::string& name) {
    return f.server(name, root, CertOptions::of(name + ".lab.local").with_days(90));
  }
  fs::path config() {
    const fs::path c = dir / "certwatch.yaml";
    testing::write_file(c, agent_config(port, {certs}, root.cert));
    return c;
  }
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

}  // namespace

TEST_CASE("a file of 1,000 same-name CAs delays neither READY, other targets nor SIGTERM",
          "[integration][agent][hostile]") {
  Setup s;
  testing::write_file(s.certs / "same-name.pem", testing::same_name_ca_pem(1000, true));
  fs::copy_file(s.leaf("good").cert, s.certs / "good.pem");
  const auto config = s.config();
  {
    const auto t0 = std::chrono::steady_clock::now();
    AgentProcess agent(s.dir.path(), config, s.port);
    REQUIRE(agent.wait_ready(30s));
#if defined(__SANITIZE_ADDRESS__)
    CHECK(std::chrono::steady_clock::now() - t0 < 15s);  // 67 s before the bounds
#else
    CHECK(std::chrono::steady_clock::now() - t0 < 4s);  // 67 s before the bounds
#endif
    const std::string m = agent.metrics();
    CHECK_FALSE(series(m, "certwatch_cert_not_after_timestamp_seconds", {(s.certs / "good.pem").string()}).empty());
    CHECK_FALSE(series(m, "certwatch_finding", {"input.too_complex", (s.certs / "same-name.pem").string()}).empty());
    agent.process().signal(SIGTERM);
    CHECK(agent.process().wait(2s) == std::optional<int>(0));
  }
  // SIGTERM while the bad file is being judged in the initial scan.
  for (int i = 0; i < 3; ++i)
    testing::write_file(s.certs / ("more-" + std::to_string(i) + ".pem"), testing::same_name_ca_pem(1000, true));
  AgentProcess agent(s.dir.path(), config, s.port);
  REQUIRE(testing::wait_for_port(s.port, 5s));
  const auto t1 = std::chrono::steady_clock::now();
  agent.process().signal(SIGTERM);
  // The wait is the bound below: a shorter one failed an ASan run that was still inside it.
#if defined(__SANITIZE_ADDRESS__)
  CHECK(agent.process().wait(15s).has_value());
#else
  CHECK(agent.process().wait(10s).has_value());
#endif
  // <= 1 s of work after SIGTERM (a judge in flight is bounded), plus process teardown and
  // slack for a loaded 2-core CI machine; ASan+UBSan builds judge several times slower, and in
  // CI they run beside three other tests and the fuzz build (6.8 s seen once): the same 15 s as
  // READY above, still far from the minutes an unbounded judge took.
#if defined(__SANITIZE_ADDRESS__)
  CHECK(std::chrono::steady_clock::now() - t1 <= 15s);
#else
  CHECK(std::chrono::steady_clock::now() - t1 <= 2s);
#endif
}

TEST_CASE("a directory symlink created at run time is not followed, as in the full scan",
          "[integration][agent][hostile]") {
  Setup s;
  fs::copy_file(s.leaf("a").cert, s.certs / "a.pem");
  const fs::path outside = s.dir / "outside";
  fs::create_directories(outside);
  fs::copy_file(s.leaf("x").cert, outside / "x.pem");
  AgentProcess agent(s.dir.path(), s.config(), s.port);
  REQUIRE(agent.wait_ready());
  fs::create_directory_symlink(outside, s.certs / "root");
  fs::copy_file(s.leaf("b").cert, s.certs / "b.pem");  // proves the events were handled
  REQUIRE(testing::eventually([&] { return agent.metrics().find((s.certs / "b.pem").string()) != std::string::npos; }, 3s));
  testing::sleep_ms(300);
  const std::string m = agent.metrics();
  CHECK(m.find("x.pem") == std::string::npos);
  CHECK(m.find((s.certs / "root").string()) == std::string::npos);
}

TEST_CASE("a file over 10 MiB is input.malformed in the agent, as in check",
          "[integration][agent][hostile]") {
  Setup s;
  {
    std::ofstream out(s.certs / "big.pem", std::ios::binary);
    out << std::string(11 * 1024 * 1024, 'A');
  }
  AgentProcess agent(s.dir.path(), s.config(), s.port);
  REQUIRE(agent.wait_ready());
  const std::string target = "target=\"" + (s.certs / "big.pem").string() + "\"";
  const std::string m = agent.metrics();
  CHECK_FALSE(series(m, "certwatch_finding", {target, "id=\"input.malformed\""}).empty());
  CHECK(series(m, "certwatch_finding", {target, "id=\"input.unreadable\""}).empty());
  auto check = testing::run({testing::certwatch_bin().string(), "check", "--json", (s.certs / "big.pem").string()});
  CHECK(check.out.find("\"input.malformed\"") != std::string::npos);
}

TEST_CASE("a file name cannot forge log lines", "[integration][agent][hostile]") {
  Setup s;
  AgentProcess agent(s.dir.path(), s.config(), s.port, {"JOURNAL_STREAM=8:12345"});
  REQUIRE(agent.wait_ready());
  const fs::path evil = s.certs / "evil\n<0>forged emergency\x1b[2J.pem";
  testing::write_file(evil, "not a certificate");
  REQUIRE(testing::eventually([&] { return agent.log().find("forged emergency") != std::string::npos; }, 3s));
  testing::sleep_ms(200);
  const std::string log = agent.log();
  for (const auto& line : lines_of(log)) {
    INFO(line);
    CHECK(line.rfind("<0>", 0) != 0);
    CHECK(line.find('\x1b') == std::string::npos);
  }
  CHECK(log.find("evil\\x0a<0>forged emergency\\x1b[2J.pem") != std::string::npos);
}

TEST_CASE("file names that are not UTF-8 stay distinct and read the same everywhere",
          "[integration][agent][hostile]") {
  REQUIRE(testing::have_program("python3"));  // the JSON oracle (scripts/setup.sh)
  Setup s;
  const auto leaf = s.leaf("n");
  fs::copy_file(leaf.cert, s.certs / "a\xff.pem");
  fs::copy_file(leaf.cert, s.certs / "a\xfe.pem");
  AgentProcess agent(s.dir.path(), s.config(), s.port);
  REQUIRE(agent.wait_ready());
  const std::string dir = s.certs.string();
  const std::string m = agent.metrics();
  // Prometheus text: the label value is "\xff" written with its backslash escaped.
  CHECK(series(m, "certwatch_cert_not_after_timestamp_seconds", {"target=\"" + dir + "/a\\\\xff.pem\""}).size() == 1);
  CHECK(series(m, "certwatch_cert_not_after_timestamp_seconds", {"target=\"" + dir + "/a\\\\xfe.pem\""}).size() == 1);
  const std::string api = http_get(s.port, "/api/v1/certificates").body;
  testing::write_file(s.dir / "api.json", api);
  auto parsed = testing::run({"python3", "-c",
                              "import json,sys\n"
                              "d=json.loads(open(sys.argv[1],'rb').read().decode('utf-8'))\n"
                              "print('\\n'.join(sorted(t['target'] for t in d['targets'])))\n",
                              (s.dir / "api.json").string()});
  INFO(parsed.err);
  REQUIRE(parsed.exit_code == 0);
  CHECK(parsed.out.find(dir + "/a\\xff.pem\n") != std::string::npos);
  CHECK(parsed.out.find(dir + "/a\\xfe.pem\n") != std::string::npos);
  const std::string page = http_get(s.port, "/").body;
  CHECK(page.find(dir + "/a\\xff.pem") != std::string::npos);
  CHECK(page.find(dir + "/a\\xfe.pem") != std::string::npos);
}

TEST_CASE("SIGHUP with /dev/zero or a FIFO as the config neither blocks nor stops the agent",
          "[integration][agent][hostile]") {
  Setup s;
  fs::copy_file(s.leaf("a").cert, s.certs / "a.pem");
  const fs::path real = s.config();
  const fs::path link = s.dir / "link.yaml";
  fs::create_symlink(real, link);
  AgentProcess agent(s.dir.path(), link, s.port);
  REQUIRE(agent.wait_ready());
  const fs::path fifo = s.dir / "fifo.yaml";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  for (const fs::path& target : {fs::path("/dev/zero"), fifo}) {
    fs::remove(link);
    fs::create_symlink(target, link);
    agent.process().signal(SIGHUP);
    REQUIRE(testing::eventually([&] { return agent.log().find("not a regular file") != std::string::npos; }, 2s));
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(http_get(s.port, "/healthz").status == 200);
    CHECK(std::chrono::steady_clock::now() - t0 < 1s);
  }
  agent.process().signal(SIGTERM);
  CHECK(agent.process().wait(2s) == std::optional<int>(0));
}

TEST_CASE("a file rewritten in place every millisecond keeps its last stable judgement",
          "[integration][agent][hostile]") {
  Setup s;
  const std::string pem = testing::read_file(s.leaf("busy").cert);
  testing::write_file(s.certs / "busy.pem", pem);
  AgentProcess agent(s.dir.path(), s.config(), s.port);
  REQUIRE(agent.wait_ready());
  const std::string target = "target=\"" + (s.certs / "busy.pem").string() + "\"";
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop && i < 20000; ++i) {
      const int fd = ::open((s.certs / "busy.pem").c_str(), O_WRONLY | O_TRUNC);
      if (fd >= 0) {
        (void)::write(fd, pem.data(), pem.size());
        ::close(fd);
      }
      std::this_thread::sleep_for(1ms);
    }
  });
  int bad = 0, scrapes = 0;
  std::string first_bad;
  const auto end = std::chrono::steady_clock::now() + 4s;
  while (std::chrono::steady_clock::now() < end) {
    const std::string m = agent.metrics();
    ++scrapes;
    for (const char* id : {"input.no_certificates", "input.malformed", "input.unreadable"})
      if (!series(m, "certwatch_finding", {target, id}).empty()) {
        if (bad++ == 0) first_bad = id;
      }
    testing::sleep_ms(15);
  }
  stop = true;
  writer.join();
  INFO(bad << " of " << scrapes << " scrapes saw a half-written file, first " << first_bad);
  CHECK(bad == 0);
  CHECK(scrapes > 50);
}

TEST_CASE("a SIGHUP storm is one reload (and at most one more), logged as such",
          "[integration][agent][hostile]") {
  Setup s;
  for (int i = 0; i < 200; ++i) testing::write_file(s.certs / ("k" + std::to_string(i) + ".pem"), "x");
  AgentProcess agent(s.dir.path(), s.config(), s.port);
  REQUIRE(agent.wait_ready());
  for (int i = 0; i < 50; ++i) {
    agent.process().signal(SIGHUP);
    std::this_thread::sleep_for(2ms);
  }
  testing::sleep_ms(1500);
  CHECK(http_get(s.port, "/healthz").status == 200);
  const std::string log = agent.log();
  std::size_t reloads = 0;
  for (std::size_t p = 0; (p = log.find("SIGHUP: reloading", p)) != std::string::npos; ++p) ++reloads;
  INFO(log);
  CHECK(reloads >= 1);
  CHECK(reloads <= 3);
}
