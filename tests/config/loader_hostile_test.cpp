// Hostile configs (issue 15): sizes, FIFOs, devices, 40k entries, deep nesting, NUL bytes.
#include <sys/stat.h>
#include <time.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "config/loader.h"
#include "support/fixtures.h"

using Catch::Matchers::Contains;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// CPU seconds of this thread: other processes on a busy CI machine do not count.
double thread_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::string watch_entries(int n) {
  std::string text = "watch:\n";
  for (int i = 0; i < n; ++i) text += "  - path: /srv/certs/d" + std::to_string(i) + "\n";
  text += "  - path: /srv/certs/d17\n";
  return text;
}

}  // namespace

// The duplicate check once compared every entry with every other (32 s for 40,000). Not a
// timing bound, which a sanitizer build or a busy machine breaks, but the growth: four times the
// entries must cost about four times the CPU (linear), far from sixteen (quadratic).
TEST_CASE("40,000 watch entries load fast, a duplicate is still found", "[config][hostile]") {
  const auto small_text = watch_entries(10000);
  const auto text = watch_entries(40000);
  double start = thread_cpu_seconds();
  auto small = certwatch::config::load_config_string(small_text, "c.yaml", "/base", {false});
  const double small_took = thread_cpu_seconds() - start;
  start = thread_cpu_seconds();
  auto r = certwatch::config::load_config_string(text, "c.yaml", "/base", {false});
  const double took = thread_cpu_seconds() - start;
  INFO("10,000 entries: " << small_took << " s CPU; 40,000: " << took << " s CPU");
  CHECK(took < 8 * std::max(small_took, 0.01));
  REQUIRE_FALSE(small.ok());
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Contains("c.yaml:40002:") && Contains("duplicate watch path /srv/certs/d17") &&
                                    Contains("(also watch[17])"));
}

TEST_CASE("/dev/zero, a FIFO and an oversized file are refused as configs, at once", "[config][hostile]") {
  testing::TempDir tmp;
  const auto start = std::chrono::steady_clock::now();
  auto zero = certwatch::config::check_config("/dev/zero");
  REQUIRE(zero.problems.size() == 1);
  CHECK_THAT(zero.problems[0].message, Contains("not a regular file (a character device)"));

  const auto fifo = tmp / "fifo.yaml";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto f = certwatch::config::check_config(fifo);  // no writer: a blocking open would hang here
  REQUIRE(f.problems.size() == 1);
  CHECK_THAT(f.problems[0].message, Contains("not a regular file (a FIFO)"));

  const auto big = tmp / "big.yaml";
  {
    std::ofstream out(big);
    const std::string line = "# " + std::string(1000, 'x') + "\n";
    for (int i = 0; i < 5000; ++i) out << line;
  }
  auto b = certwatch::config::check_config(big);
  REQUIRE(b.problems.size() == 1);
  CHECK_THAT(b.problems[0].message, Contains("over the 4 MiB limit"));
  CHECK(seconds_since(start) < 2.0);
}

TEST_CASE("a FIFO named as a trust file or passphrase file is refused by the loader", "[config][hostile]") {
  testing::TempDir tmp;
  const auto fifo = tmp / "bundle.pem";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto r = certwatch::config::load_config_string("trust: [" + fifo.string() + "]\nwatch:\n  - path: /x\n", "c.yaml", tmp.path());
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Contains("c.yaml:1:") && Contains(fifo.string() + " is not a regular file"));
}

TEST_CASE("YAML nested too deeply says so, with a position", "[config][hostile]") {
  const std::string text = "watch: " + std::string(3000, '[') + std::string(3000, ']') + "\n";
  auto r = certwatch::config::load_config_string(text, "c.yaml", "/base");
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Contains("c.yaml:1:") && Contains("nested too deeply"));
  CHECK_THAT(r.error().message, !Contains("bad file"));
}

TEST_CASE("a NUL byte is reported at its own line and column", "[config][hostile]") {
  std::string text = "watch:\n  - path: /a\n  - path: /b";
  text += '\0';
  text += "c\n";
  auto r = certwatch::config::load_config_string(text, "c.yaml", "/base", {false});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "c.yaml:3:13: a NUL byte: the config must be text");
}

TEST_CASE("bytes that are not UTF-8 are refused at their position, before yaml-cpp sees them",
          "[config][hostile]") {
  // config_fuzz's first input (it also hung yaml-cpp: see the flow-indicator test below).
  std::string text = "# The smallest useful certwatch config: watch one directory, serve metrics on";
  text += std::string(103, '\xFF');
  text += " the default\nwatch:\n  - path: /etc/mosquitto/certs\n";
  const auto t0 = std::chrono::steady_clock::now();
  auto r = certwatch::config::load_config_string(text, "c.yaml", "/base", {false});
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "c.yaml:1:78: byte 0xFF is not UTF-8: the config must be UTF-8 text");
  // And control characters.
  auto ctl = certwatch::config::load_config_string("watch: [{path: /x}]\nwat\x1d: 1\n", "c.yaml", "/base", {false});
  REQUIRE_FALSE(ctl.ok());
  CHECK(ctl.error().message ==
        "c.yaml:2:4: control character 0x1D: the config must be printable text (YAML allows tab, CR and LF only)");
  CHECK_FALSE(certwatch::config::load_config_string("watch: [{path: /x}] # \xC2\x9B\n", "c.yaml", "/base", {false}).ok());
  // Valid UTF-8 beyond ASCII still loads.
  CHECK(certwatch::config::load_config_string("# Zertifikate für Geräte ✓\nwatch: [{path: /x}]\n", "c.yaml", "/base", {false})
            .ok());
}

TEST_CASE("a flow indicator where a block node starts is a syntax error, not an endless load",
          "[config][hostile]") {
  // yaml-cpp 0.7 makes no progress on these, and YAML::LoadAll collected empty documents until
  // memory ran out (config_fuzz found it; the loader used LoadAll to refuse a second document).
  struct Case {
    std::string text;
    std::string error;
  };
  const std::vector<Case> cases{
      {", a\n", "c.yaml:1:1: YAML syntax error: unexpected ',' (a flow indicator outside [ ] or { })"},
      {"# comment\n, ad\n", "c.yaml:2:1: YAML syntax error: unexpected ',' (a flow indicator outside [ ] or { })"},
      {"- a\n, b\n", "c.yaml:2:1: YAML syntax error: unexpected ',' (a flow indicator outside [ ] or { })"},
      {"watch: [{path: /x}]\n---\nwatch: [{path: /y}]\n",
       "c.yaml:3:1: a second YAML document: the config is one document (remove '---')"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    const auto t0 = std::chrono::steady_clock::now();
    auto r = certwatch::config::load_config_string(c.text, "c.yaml", "/base", {false});
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1));
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Matchers::Contains(c.error));
  }
}
