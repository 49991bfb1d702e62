// Issue #4 acceptance 3: a real Prometheus (Debian's /usr/bin/prometheus) scrapes the agent
// every second and PromQL computes the time left of a certificate.
#include <catch2/catch.hpp>
#include <ctime>
#include <filesystem>
#include <regex>

#include "integration/agent_harness.h"
#include "support/fixtures.h"
#include "support/pki_fixture.h"

using namespace agent_test;
namespace fs = std::filesystem;

TEST_CASE("prometheus scrapes the agent and PromQL returns the time left", "[integration][agent][prometheus]") {
  // Installed by scripts/setup.sh: a missing program is a failure, not a skip.
  REQUIRE(testing::have_program("prometheus"));
  REQUIRE(testing::have_program("curl"));
  testing::TempDir dir;
  testing::PkiFixture f(dir / "pki");
  auto root = f.root("root", testing::CertOptions::of("Prom Test Root").with_days(3650));
  auto leaf = f.server("leaf", root, testing::CertOptions::of("prom.lab.local").with_days(45));
  fs::create_directories(dir / "certs");
  fs::copy_file(leaf.cert, dir / "certs" / "leaf.pem");
  const int64_t not_after = openssl_enddate(leaf.cert);
  REQUIRE(not_after > 0);

  const int agent_port = testing::free_port();
  testing::write_file(dir / "certwatch.yaml", agent_config(agent_port, {dir / "certs"}, root.cert));
  AgentProcess agent(dir.path(), dir / "certwatch.yaml", agent_port);
  REQUIRE(agent.wait_ready());

  const auto prom = start_prometheus(dir.path(), agent_port);
  const int prom_port = prom.port;
  REQUIRE(testing::wait_for_port(prom_port, std::chrono::seconds(20)));

  // Poll the query API until the first scrape is in (bounded).
  const std::string query = "certwatch_cert_not_after_timestamp_seconds{subject_cn=\"prom.lab.local\"} - time()";
  std::string body;
  double left = 0;
  int64_t asked_at = 0;
  const bool got = testing::eventually(
      [&] {
        asked_at = static_cast<int64_t>(std::time(nullptr));
        auto r = testing::run({"curl", "-sG", "--max-time", "5",
                               "http://127.0.0.1:" + std::to_string(prom_port) + "/api/v1/query",
                               "--data-urlencode", "query=" + query},
                              std::chrono::seconds(10));
        body = r.out;
        // {"status":"success","data":{"resultType":"vector","result":[{"metric":{...},"value":[1700000000.1,"3887999.9"]}]}}
        std::smatch m;
        if (!std::regex_search(body, m, std::regex(R"re("value":\[[0-9.e+]+,"(-?[0-9.e+]+)"\])re"))) return false;
        left = std::stod(m[1]);
        return true;
      },
      std::chrono::seconds(30));
  INFO(body << "\n" << testing::read_file(dir / "prometheus.log"));
  REQUIRE(got);
  CHECK(std::abs(left - static_cast<double>(not_after - asked_at)) < 60.0);
  CHECK(left > 44 * 86400.0);
  CHECK(body.find("\"target\":\"" + (dir / "certs" / "leaf.pem").string() + "\"") != std::string::npos);
}
