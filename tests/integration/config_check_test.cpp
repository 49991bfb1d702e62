// Runs the real `certwatch config check` on good and bad files.
#include <catch2/catch.hpp>

#include "support/fixtures.h"

namespace {

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

testing::RunResult config_check(const std::vector<std::string>& extra) {
  std::vector<std::string> argv{testing::certwatch_bin().string(), "config", "check"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return testing::run(argv, std::chrono::seconds(20));
}

}  // namespace

TEST_CASE("config check accepts a valid file and summarises it", "[integration][config]") {
  testing::TempDir dir;
  testing::write_file(dir / "ca.pem", "anchor");
  const auto file = (dir / "certwatch.yaml").string();
  testing::write_file(dir / "certwatch.yaml",
                      "http: {listen: '127.0.0.1:9100'}\n"
                      "trust: [ca.pem]\n"
                      "watch:\n"
                      "  - {path: certs, recursive: true}\n"
                      "  - {path: other}\n");
  const auto r = config_check({file});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, StartsWith(file + ": ok\n"));
  CHECK_THAT(r.out, Contains("127.0.0.1:9100"));
  CHECK_THAT(r.out, Contains("watch:      2 (1 recursive)"));

  const auto j = config_check({"--json", file});
  CHECK(j.exit_code == 0);
  CHECK_THAT(j.out, Contains("\"ok\":true"));
  CHECK_THAT(j.out, Contains("\"watch\":2"));
}

TEST_CASE("config check prints every problem with file:line:col and exits 3",
          "[integration][config]") {
  testing::TempDir dir;
  const auto file = (dir / "bad.yaml").string();
  testing::write_file(dir / "bad.yaml",
                      "agent:\n"
                      "  rescan_interval: 10 minutes\n"
                      "trust: [missing-ca.pem]\n"
                      "watch:\n"
                      "  - path: /x\n"
                      "    recursiv: true\n"
                      "  - purpose: server\n");
  const auto r = config_check({file});
  CHECK(r.exit_code == 3);
  CHECK(r.out.empty());
  CHECK_THAT(r.err, Contains(file + ":2:20: agent.rescan_interval: bad duration '10 minutes'"));
  CHECK_THAT(r.err, Contains(file + ":3:9: trust[0]: " + (dir / "missing-ca.pem").string() +
                             " does not exist"));
  CHECK_THAT(r.err, Contains(file + ":6:5: unknown key 'recursiv' in watch[0] (did you mean "
                                    "'recursive'?)"));
  CHECK_THAT(r.err, Contains(file + ":7:5: missing required key 'path' in watch[1]"));
  CHECK_THAT(r.err, Contains(file + ": 4 problems; the agent would not start"));

  const auto j = config_check({"--json", file});
  CHECK(j.exit_code == 3);
  CHECK_THAT(j.out, Contains("\"ok\":false"));
  CHECK_THAT(j.out, Contains("{\"file\":\"" + file +
                             "\",\"line\":7,\"column\":5,\"message\":\"missing required key "
                             "'path' in watch[1]\"}"));

  // Skipping the file checks leaves exactly the other three.
  const auto n = config_check({"--no-file-checks", file});
  CHECK(n.exit_code == 3);
  CHECK_THAT(n.err, Contains(file + ": 3 problems"));
}

TEST_CASE("config check reports YAML syntax errors and unreadable files", "[integration][config]") {
  testing::TempDir dir;
  const auto file = (dir / "syntax.yaml").string();
  testing::write_file(dir / "syntax.yaml", "watch:\n  - {path: /x\n");
  const auto r = config_check({file});
  CHECK(r.exit_code == 3);
  CHECK_THAT(r.err, Contains(file + ":3:1: YAML syntax error: end of map flow not found"));

  const auto missing = (dir / "nope.yaml").string();
  const auto m = config_check({missing});
  CHECK(m.exit_code == 3);
  CHECK_THAT(m.err, Contains(missing + ": config file does not exist"));
}

TEST_CASE("config check usage and help", "[integration][config]") {
  const auto help = config_check({"--help"});
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.out, Contains("Usage: certwatch config check"));
  const auto top = testing::run({testing::certwatch_bin().string(), "config", "--help"});
  CHECK(top.exit_code == 0);
  CHECK(config_check({}).exit_code == 3);
  CHECK(config_check({"--bogus", "x.yaml"}).exit_code == 3);
  CHECK(testing::run({testing::certwatch_bin().string(), "config", "lint"}).exit_code == 3);
}

TEST_CASE("config check validates the shipped minimal example", "[integration][config]") {
  const auto file = (testing::source_dir() / "config/examples/minimal.yaml").string();
  const auto r = config_check({file});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  const auto full = (testing::source_dir() / "config/examples/certwatch.yaml").string();
  const auto f = config_check({"--no-file-checks", full});
  INFO(f.err);
  CHECK(f.exit_code == 0);
  CHECK_THAT(f.out, Contains("managed:    2"));
}
