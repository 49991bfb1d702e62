// The agent's own http-01 responder, over real HTTP on 127.0.0.1 with curl as the client.
#include "agent/acme/http01_listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/address.h"
#include "support/fixtures.h"
#include "support/solver_loop.h"

namespace {

using certwatch::agent::acme::Http01Limits;
using certwatch::agent::acme::Http01Listener;

std::string curl(uint16_t port, const std::string& path) {
  return testing::run_capture("curl -s -m 5 -w ' %{http_code} %{content_type}' http://127.0.0.1:" +
                              std::to_string(port) + path + " 2>/dev/null");
}

// Whether something accepts TCP connections on 127.0.0.1:port.
bool accepting(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

TEST_CASE(
    "the http-01 listener answers only presented tokens and is bound only while one is pending",
    "[acme][http01]") {
  testing::LoopThread loop;
  const auto port = static_cast<uint16_t>(testing::free_port());
  Http01Listener listener(loop.io,
                          *certwatch::config::parse_listen_address("127.0.0.1:" + std::to_string(port)));
  CHECK(listener.describe() == "http-01 listener on 127.0.0.1:" + std::to_string(port));
  CHECK_FALSE(accepting(port));

  const auto a = testing::make_challenge("http-01", "tokenA_-1");
  const auto b = testing::make_challenge("http-01", "tokenB");
  REQUIRE(loop.wait([&](auto done) { listener.present(a, done); }).ok());
  REQUIRE(loop.wait([&](auto done) { listener.present(b, done); }).ok());
  CHECK(accepting(port));
  CHECK(curl(port, "/.well-known/acme-challenge/tokenA_-1") ==
        a.key_authorization + " 200 text/plain");
  CHECK(curl(port, "/.well-known/acme-challenge/tokenB") ==
        b.key_authorization + " 200 text/plain");
  CHECK(curl(port, "/.well-known/acme-challenge/other") == "not found\n 404 text/plain; charset=utf-8");
  CHECK(curl(port, "/tokenA_-1") == "not found\n 404 text/plain; charset=utf-8");

  REQUIRE(loop.wait([&](auto done) { listener.cleanup(a, done); }).ok());
  CHECK(curl(port, "/.well-known/acme-challenge/tokenA_-1") == "not found\n 404 text/plain; charset=utf-8");
  CHECK(curl(port, "/.well-known/acme-challenge/tokenB") ==
        b.key_authorization + " 200 text/plain");
  REQUIRE(loop.wait([&](auto done) { listener.cleanup(b, done); }).ok());
  CHECK_FALSE(accepting(port));

  // Opened again for the next order.
  REQUIRE(loop.wait([&](auto done) { listener.present(a, done); }).ok());
  CHECK(curl(port, "/.well-known/acme-challenge/tokenA_-1") ==
        a.key_authorization + " 200 text/plain");
  REQUIRE(loop.wait([&](auto done) { listener.cleanup(a, done); }).ok());
}

TEST_CASE("the http-01 listener bounds each request in size and time", "[acme][http01]") {
  testing::LoopThread loop;
  const auto port = static_cast<uint16_t>(testing::free_port());
  Http01Limits limits;
  limits.exchange_timeout = std::chrono::milliseconds(500);
  Http01Listener listener(
      loop.io, *certwatch::config::parse_listen_address("127.0.0.1:" + std::to_string(port)), limits);
  const auto a = testing::make_challenge("http-01", "tok");
  REQUIRE(loop.wait([&](auto done) { listener.present(a, done); }).ok());
  // Headers beyond the limit: no answer with the key authorization (431, then closed).
  const std::string big(8000, 'x');
  const std::string refused = testing::run_capture("curl -s -m 5 -w ' %{http_code}' -H 'X-Big: " + big +
                                                   "' http://127.0.0.1:" + std::to_string(port) +
                                                   "/.well-known/acme-challenge/tok 2>/dev/null");
  CHECK(refused.find(a.key_authorization) == std::string::npos);
  CHECK_THAT(refused, Catch::Matchers::EndsWith(" 431"));
  // Methods other than GET and HEAD are refused; HEAD answers without the body.
  CHECK(testing::run_capture("curl -s -m 5 -X POST -w ' %{http_code}' http://127.0.0.1:" + std::to_string(port) +
                             "/.well-known/acme-challenge/tok 2>/dev/null") == "method not allowed\n 405");
  CHECK(testing::run_capture("curl -s -m 5 -I -o /dev/null -w '%{http_code}' http://127.0.0.1:" +
                             std::to_string(port) + "/.well-known/acme-challenge/tok 2>/dev/null") == "200");
  // A client that sends nothing is cut off at the deadline.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const auto start = std::chrono::steady_clock::now();
  char c = 0;
  CHECK(::recv(fd, &c, 1, 0) == 0);  // closed by the listener, not by our 5 s receive timeout
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(4));
  ::close(fd);
  // A port already taken: present fails with a clear reason.
  Http01Listener second(loop.io,
                        *certwatch::config::parse_listen_address("127.0.0.1:" + std::to_string(port)));
  const auto r = loop.wait([&](auto done) { second.present(a, done); });
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message,
             Catch::Matchers::Contains("http-01 listener: http: cannot bind 127.0.0.1:" + std::to_string(port)));
  REQUIRE(loop.wait([&](auto done) { listener.cleanup(a, done); }).ok());
}
