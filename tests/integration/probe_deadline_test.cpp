// Issue 22, item 1: a STARTTLS dialogue is one step under one deadline. A server that sends its
// SMTP greeting one byte per second used to hold `certwatch probe` for as long as it kept
// sending (the deadline was per read), and in the agent with probe_concurrency 1 it held the
// only probe slot, so every endpoint queued behind it went unprobed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>
#include <vector>

#include "integration/agent_harness.h"
#include "support/fixtures.h"
#include "support/pki_fixture.h"
#include "support/tls_servers.h"

using namespace testing;
using namespace agent_test;
using std::chrono::seconds;

namespace {

// A loopback SMTP server whose greeting never ends: "220 " and then one 'x' per second to every
// client, for as long as the client stays (far from the dialogue's 8 KiB line bound).
class TricklingSmtp {
 public:
  TricklingSmtp() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    socklen_t len = sizeof sa;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
    port_ = ntohs(sa.sin_port);
    REQUIRE(::listen(fd_, 16) == 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~TricklingSmtp() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  TricklingSmtp(const TricklingSmtp&) = delete;
  TricklingSmtp& operator=(const TricklingSmtp&) = delete;
  int port() const { return port_; }
  int connections() const { return connections_; }

 private:
  struct Client {
    int fd;
    std::size_t sent;
  };

  void serve() {
    const std::string head = "220 ";
    std::vector<Client> clients;
    auto next_byte = std::chrono::steady_clock::now();
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) > 0)
        if (const int c = ::accept(fd_, nullptr, nullptr); c >= 0) {
          clients.push_back({c, 0});
          ++connections_;
        }
      if (std::chrono::steady_clock::now() < next_byte) continue;
      next_byte += seconds(1);
      for (auto it = clients.begin(); it != clients.end();) {
        const char byte = it->sent < head.size() ? head[it->sent] : 'x';
        if (::send(it->fd, &byte, 1, MSG_NOSIGNAL) != 1) {
          ::close(it->fd);
          it = clients.erase(it);
          continue;
        }
        ++it->sent;
        ++it;
      }
    }
    for (const auto& c : clients) ::close(c.fd);
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

}  // namespace

TEST_CASE("probe --protocol smtp ends by its timeout against a greeting trickled byte by byte",
          "[integration][probe][starttls]") {
  TricklingSmtp server;
  const auto started = std::chrono::steady_clock::now();
  const RunResult r =
      run({certwatch_bin().string(), "probe", "127.0.0.1:" + std::to_string(server.port()),
           "--protocol", "smtp", "--timeout", "3s", "--json"},
          seconds(30));
  const auto took = std::chrono::steady_clock::now() - started;
  INFO(r.out << r.err);
  CHECK_FALSE(r.timed_out);
  // 3 s for the dialogue, then the report; the process's own start and teardown on top (an
  // ASan+UBSan build beside other tests took 6 s in CI). The unbounded dialogue this guards
  // against reads for minutes (64 KiB at a byte a second) and hits run()'s 30 s.
#if defined(__SANITIZE_ADDRESS__)
  CHECK(took < seconds(15));
#else
  CHECK(took < seconds(6));
#endif
  CHECK(took >= std::chrono::milliseconds(2900));
  CHECK(r.exit_code == 2);  // endpoint.protocol_failed is critical, as every probe timeout
  CHECK(r.out.find("\"id\":\"endpoint.protocol_failed\"") != std::string::npos);
  CHECK(r.out.find("STARTTLS (smtp) dialogue timed out after 3000 ms (waiting for the greeting") !=
        std::string::npos);
}

TEST_CASE("agent: an endpoint queued behind a trickling STARTTLS server is probed in bounded time",
          "[integration][agent][endpoint][starttls]") {
  TempDir tmp;
  PkiFixture f(tmp / "pki");
  const DeepChain d = make_deep_chain(f);
  TlsServer healthy(tmp.path(), d.leaf, f.cat("good.pem", {d.int2.cert, d.int1.cert}));
  TricklingSmtp trickling;
  const std::string slow = "127.0.0.1:" + std::to_string(trickling.port());
  const std::string good = "127.0.0.1:" + std::to_string(healthy.port);
  const int port = free_port();
  const fs::path config = tmp / "certwatch.yaml";
  // One probe slot: whichever endpoint goes first, the other waits for it, every round.
  write_file(config,
             "agent:\n  state_dir: " + (tmp / "state").string() +
                 "\n  probe_concurrency: 1\nhttp:\n  listen: \"127.0.0.1:" + std::to_string(port) +
                 "\"\ntrust:\n  - " + d.bundle.string() + "\nendpoints:\n  - {target: \"" + slow +
                 "\", protocol: smtp, sni: mqtt.lab.local, interval: 4s, timeout: 2s}\n" +
                 "  - {target: \"" + good +
                 "\", sni: mqtt.lab.local, interval: 4s, timeout: 2s}\n");
  AgentProcess agent(tmp.path(), config, port);
  REQUIRE(agent.wait_ready());
  const std::string ts = slow + " [127.0.0.1]", tg = good + " [127.0.0.1]";
  std::string m;
  const auto probes = [&] {
    double n = 0;
    for (const auto& l : series(m, "certwatch_probes_total", {})) n += value_of(l);
    return n;
  };
  // Two rounds of both: the slow one gives its slot back after its 2 s timeout every time (a
  // byte a second kept a per-read deadline of 2 s from ever passing).
  const bool rounds = eventually(
      [&] {
        m = agent.metrics();
        return probes() >= 4 &&
               !series(m, "certwatch_probe_success", {"target=\"" + tg + "\""}).empty() &&
               !series(m, "certwatch_probe_success", {"target=\"" + ts + "\""}).empty();
      },
      seconds(20));
  INFO(m << agent.log());
  REQUIRE(rounds);
  CHECK(value_of(series(m, "certwatch_probe_success", {"target=\"" + tg + "\""}).at(0)) == 1);
  CHECK(value_of(series(m, "certwatch_chain_valid", {"target=\"" + tg + "\""}).at(0)) == 1);
  CHECK(value_of(series(m, "certwatch_probe_success", {"target=\"" + ts + "\""}).at(0)) == 0);
  CHECK_FALSE(
      series(m, "certwatch_finding", {"target=\"" + ts + "\"", "id=\"endpoint.protocol_failed\""})
          .empty());
  CHECK(trickling.connections() >= 2);
}
