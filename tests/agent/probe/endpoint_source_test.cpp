// EndpointSource in-process, on a ManualClock: the first round waits for its spread, the
// concurrency cap holds while black holes hang, a good endpoint queued behind them is still
// probed within its share of the round, and a stop cancels what is in flight.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <vector>

#include "agent/clock/clock.h"
#include "agent/inventory/inventory.h"
#include "agent/probe/endpoint_source.h"

using namespace certwatch;
using namespace certwatch::agent;
using std::chrono::milliseconds;

namespace {

// A listening socket that never accepts: the kernel completes TCP handshakes into the backlog
// and nothing ever answers.
struct BlackHole {
  int fd = -1;
  uint16_t port = 0;
  BlackHole() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    socklen_t len = sizeof sa;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
    port = ntohs(sa.sin_port);
    REQUIRE(::listen(fd, 64) == 0);
  }
  ~BlackHole() { ::close(fd); }
};

config::EndpointEntry entry(uint16_t port) {
  config::EndpointEntry e;
  e.target = {"127.0.0.1", port};
  e.interval = config::Seconds{60};
  e.timeout = config::Seconds{1};
  return e;
}

struct Rig {
  boost::asio::io_context io;
  ManualClock clock{io, 1'800'000'000};
  Inventory inventory;
  std::size_t successes = 0, failures = 0;
  EndpointSource source{io, clock, inventory,
                        EndpointSourceHooks{[this](std::size_t ok, std::size_t bad) {
                                              successes += ok;
                                              failures += bad;
                                            },
                                            nullptr}};
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
  std::vector<std::unique_ptr<BlackHole>> holes;
  config::Config cfg;
  cfg.agent.probe_concurrency = 3;
  for (int i = 0; i < 6; ++i) {
    holes.push_back(std::make_unique<BlackHole>());
    cfg.endpoints.push_back(entry(holes.back()->port));
  }
  // Queued behind the black holes: a closed port (refused at once).
  const int closed_fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(closed_fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  socklen_t len = sizeof sa;
  REQUIRE(::getsockname(closed_fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
  const uint16_t closed_port = ntohs(sa.sin_port);
  ::close(closed_fd);
  cfg.endpoints.push_back(entry(closed_port));

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
  const InventoryEntry* closed = rig.inventory.find({SourceKind::endpoint, "127.0.0.1:" + std::to_string(closed_port) + " [127.0.0.1]"});
  REQUIRE(closed != nullptr);
  REQUIRE(closed->report.findings.size() == 1);
  CHECK(closed->report.findings[0].id == "endpoint.unreachable");
  for (const auto& h : holes) {
    const InventoryEntry* e = rig.inventory.find({SourceKind::endpoint, "127.0.0.1:" + std::to_string(h->port) + " [127.0.0.1]"});
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
    config::Config fewer = cfg;
    fewer.endpoints.resize(2);
    rig.source.apply(fewer);
    CHECK(rig.source.endpoint_count() == 2);
    CHECK(rig.inventory.size(SourceKind::endpoint) == 2);
  }
}
