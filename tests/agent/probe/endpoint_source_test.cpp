// EndpointSource in-process, on a ManualClock: the first round waits for its spread, the
// concurrency cap holds while black holes hang, a good endpoint queued behind them is still
// probed within its share of the round, and a stop cancels what is in flight.
#include "agent/probe/endpoint_source.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <vector>

#include "agent/clock/clock.h"
#include "agent/inventory/inventory.h"
#include "support/tls_servers.h"

using namespace certwatch;
using namespace certwatch::agent;
using std::chrono::milliseconds;

namespace {

certwatch::config::EndpointEntry endpoint_entry(uint16_t port) {
  certwatch::config::EndpointEntry e;
  e.target = {"127.0.0.1", port};
  e.interval = certwatch::config::Seconds{60};
  e.timeout = certwatch::config::Seconds{1};
  return e;
}

struct ProbeCounts : SourceSink {
  std::size_t successes = 0, failures = 0;
  void probes_finished(std::size_t ok, std::size_t bad) override {
    successes += ok;
    failures += bad;
  }
};

struct Rig {
  boost::asio::io_context io;
  ManualClock clock{io, 1'800'000'000};
  Inventory inventory;
  ProbeCounts counts;
  std::size_t& successes = counts.successes;
  std::size_t& failures = counts.failures;
  EndpointSource source{io, clock, inventory, counts};
  // Runs the loop for `total`, in small slices, recording the most probes in flight.
  std::size_t run_for(milliseconds total) {
    std::size_t most = 0;
    const auto end = std::chrono::steady_clock::now() + total;
    while (std::chrono::steady_clock::now() < end) {
      io.restart();
      io.run_for(milliseconds(10));
      most = std::max(most, source.probes_in_flight());
    }
    return most;
  }
};

}  // namespace

TEST_CASE("endpoint source: first round spread on the clock, concurrency capped, nobody starved",
          "[agent][probe][endpoint]") {
  std::vector<std::unique_ptr<testing::RawServer>> holes;  // never accept: black holes
  certwatch::config::Config cfg;
  cfg.agent.probe_concurrency = 3;
  for (int i = 0; i < 6; ++i) {
    holes.push_back(std::make_unique<testing::RawServer>(""));
    cfg.endpoints.push_back(endpoint_entry(static_cast<uint16_t>(holes.back()->port)));
  }
  // Queued behind the black holes: a closed port (refused at once).
  const auto closed_port = static_cast<uint16_t>(testing::free_port());
  cfg.endpoints.push_back(endpoint_entry(closed_port));

  Rig rig;
  rig.source.apply(cfg);
  CHECK(rig.source.endpoint_count() == 7);
  // Nothing fires before the clock reaches the spread (7 endpoints: at most 35 ms).
  CHECK(rig.run_for(milliseconds(100)) == 0);
  CHECK(rig.inventory.size() == 0);

  rig.clock.advance(milliseconds(40));
  // Three black holes hold the three slots for their 1 s handshake timeout, then three more,
  // then the closed port: never more than three at once, and every probe done in ~3 s.
  const std::size_t most = rig.run_for(milliseconds(4500));
  CHECK(most == 3);
  CHECK(rig.successes == 0);
  CHECK(rig.failures == 7);
  REQUIRE(rig.inventory.size(SourceKind::endpoint) == 7);
  const InventoryEntry* closed = rig.inventory.find(
      {SourceKind::endpoint, "127.0.0.1:" + std::to_string(closed_port) + " [127.0.0.1]"});
  REQUIRE(closed != nullptr);
  REQUIRE(closed->report.findings.size() == 1);
  CHECK(closed->report.findings[0].id == "endpoint.unreachable");
  for (const auto& h : holes) {
    const InventoryEntry* e = rig.inventory.find(
        {SourceKind::endpoint, "127.0.0.1:" + std::to_string(h->port) + " [127.0.0.1]"});
    REQUIRE(e != nullptr);
    REQUIRE(e->endpoint() != nullptr);
    CHECK_FALSE(e->endpoint()->success);
    CHECK(e->report.findings.at(0).id == "endpoint.handshake_failed");
    CHECK(e->report.findings.at(0).message.find("timed out after 1000 ms") != std::string::npos);
  }

  SECTION("the next round comes an interval later (± a tenth), on the clock") {
    CHECK(rig.run_for(milliseconds(50)) == 0);
    rig.clock.advance(std::chrono::seconds(53));
    CHECK(rig.run_for(milliseconds(50)) == 0);  // 53 s < 54 s: not yet
    rig.clock.advance(std::chrono::seconds(14));
    CHECK(rig.run_for(milliseconds(100)) == 3);
    // (The closed port may be among the first three: it fails at once.)
    const std::size_t before_stop = rig.failures;
    CHECK(before_stop <= 8);
    rig.source.stop();  // cancels what is in flight: no result is recorded after it
    rig.run_for(milliseconds(100));
    CHECK(rig.source.probes_in_flight() == 0);
    CHECK(rig.failures == before_stop);
  }

  SECTION("a reload that removes endpoints removes their targets") {
    certwatch::config::Config fewer = cfg;
    fewer.endpoints.resize(2);
    rig.source.apply(fewer);
    CHECK(rig.source.endpoint_count() == 2);
    CHECK(rig.inventory.size(SourceKind::endpoint) == 2);
  }
}
