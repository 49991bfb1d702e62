// Loopback servers for the probe and endpoint tests: a real `openssl s_server` serving a given
// chain, and a raw TCP listener (a black hole, or one that answers fixed bytes and closes).
// Header-only: included by the *_test.cpp files that need them.
#pragma once

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/fixtures.h"
#include "support/pki_fixture.h"

namespace testing {

// An s_server on a fresh loopback port serving `cert` with `chain` after it, in that order.
struct TlsServer {
  int port = 0;
  std::unique_ptr<Process> process;
  TlsServer(const fs::path& dir, const CertFiles& leaf, const std::optional<fs::path>& chain,
            const std::vector<std::string>& extra = {}, const std::string& host = "127.0.0.1") {
    port = free_port();
    std::vector<std::string> argv{"openssl", "s_server", "-accept", host + ":" + std::to_string(port),
                                  "-cert", leaf.cert.string(), "-key", leaf.key.string(), "-quiet",
                                  "-no-CAfile", "-no-CApath", "-no-CAstore"};
    if (chain) argv.insert(argv.end(), {"-cert_chain", chain->string()});
    argv.insert(argv.end(), extra.begin(), extra.end());
    const fs::path log = dir / ("s_server-" + std::to_string(port) + ".log");
    process = std::make_unique<Process>(argv, log);
    if (host == "127.0.0.1") {
      INFO("openssl s_server did not start: " << read_file(log));
      REQUIRE(wait_for_port(port, std::chrono::seconds(10)));
    }
  }
};

// A listening socket on 127.0.0.1 (or ::1). With `answer` empty it never accepts: the kernel
// completes the TCP handshake into the backlog and nothing ever answers (a black hole).
// Otherwise a thread accepts, writes `answer` and closes, until destroyed.
struct RawServer {
  int fd = -1;
  int port = 0;
  std::atomic<bool> stop{false};
  std::thread thread;
  explicit RawServer(const std::string& answer) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    socklen_t len = sizeof sa;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
    port = ntohs(sa.sin_port);
    REQUIRE(::listen(fd, 16) == 0);
    if (answer.empty()) return;
    thread = std::thread([this, answer] {
      const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(120);
      while (!stop && std::chrono::steady_clock::now() < end) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        const int c = ::accept(fd, nullptr, nullptr);
        if (c < 0) continue;
        (void)!::write(c, answer.data(), answer.size());
        ::close(c);
      }
    });
  }
  ~RawServer() {
    stop = true;
    if (thread.joinable()) thread.join();
    ::close(fd);
  }
};

}  // namespace testing
