// The probe without a server: a client context that could not be made is reported as the
// probe's failure (a finding of the endpoint) instead of an exception out of the event loop.
// The deadlines of a probe's steps against a server on the probe's own io_context. Probes of
// real servers are tests/integration/probe_test.cpp.
#include "agent/probe/tls_probe.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <optional>

using namespace certwatch::agent::probe;

TEST_CASE("the probe's client context", "[agent][probe]") {
  auto ssl = new_client_ssl_ctx();
  REQUIRE(ssl);
  REQUIRE(ssl->get() != nullptr);
  const ProbeContext usable(ssl->get());
  CHECK(usable.error() == nullptr);
  const ProbeContext unusable(
      certwatch::make_error("cannot create a TLS client context", certwatch::ErrorKind::crypto));
  REQUIRE(unusable.error() != nullptr);
  CHECK(unusable.error()->message == "cannot create a TLS client context");
}

TEST_CASE("a probe with an unusable context fails at the handshake without a connection",
          "[agent][probe]") {
  boost::asio::io_context io;
  auto ctx = std::make_shared<ProbeContext>(
      certwatch::make_error("cannot create a TLS client context", certwatch::ErrorKind::crypto));
  TlsTarget target;
  target.host = "192.0.2.1";  // TEST-NET-1: a connect would time out, and fail as `connect`
  target.port = 8883;
  target.step_timeout = std::chrono::milliseconds(300);
  std::optional<TlsProbeResult> got;
  const auto handle = start_probe(io, target, ctx, [&](TlsProbeResult r) { got = std::move(r); });
  CHECK_FALSE(got);  // posted, never run inside start_probe
  io.run();
  REQUIRE(got);
  CHECK_FALSE(got->resolve_error);
  REQUIRE(got->addresses.size() == 1);
  const AddressOutcome& a = got->addresses.front();
  CHECK_FALSE(a.ok());
  CHECK(a.failed == ProbeFailure::handshake);
  CHECK(std::string(finding_id(a.failed)) == "endpoint.handshake_failed");
  CHECK(a.reason == "cannot create a TLS client context");
  CHECK(a.address.empty());
  CHECK(a.chain.empty());
}

namespace {

// A plaintext server on the probe's io_context that sends "220 " and then an 'x' every 100 ms:
// a greeting that never ends, each read of it finding a byte long before a per-read deadline.
class AsioTrickler {
 public:
  explicit AsioTrickler(boost::asio::io_context& io)
      : acceptor_(io, {boost::asio::ip::address_v4::loopback(), 0}), peer_(io), tick_(io) {
    acceptor_.async_accept(peer_, [this](const boost::system::error_code& ec) {
      if (!ec) send_next();
    });
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  void stop() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    peer_.close(ignored);
    tick_.cancel();
  }

 private:
  void send_next() {
    byte_ = sent_ < 4 ? "220 "[sent_] : 'x';
    ++sent_;
    boost::asio::async_write(peer_, boost::asio::buffer(&byte_, 1),
                             [this](const boost::system::error_code& ec, std::size_t) {
                               if (ec) return;
                               tick_.expires_after(std::chrono::milliseconds(100));
                               tick_.async_wait([this](const boost::system::error_code& e) {
                                 if (!e) send_next();
                               });
                             });
  }

  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::ip::tcp::socket peer_;
  boost::asio::steady_timer tick_;
  std::size_t sent_ = 0;
  char byte_ = 0;
};

}  // namespace

TEST_CASE("a STARTTLS dialogue is one step under one deadline, however the server trickles",
          "[agent][probe]") {
  boost::asio::io_context io;
  AsioTrickler server(io);
  auto ssl = new_client_ssl_ctx();
  REQUIRE(ssl);
  auto ctx = std::make_shared<ProbeContext>(ssl->get());
  TlsTarget target;
  target.host = "127.0.0.1";
  target.port = server.port();
  target.protocol = Protocol::smtp;
  target.step_timeout = std::chrono::milliseconds(400);
  std::optional<TlsProbeResult> got;
  const auto handle = start_probe(io, target, ctx, [&](TlsProbeResult r) {
    got = std::move(r);
    server.stop();
  });
  io.run_for(std::chrono::seconds(10));
  REQUIRE(got);
  REQUIRE(got->addresses.size() == 1);
  const AddressOutcome& a = got->addresses.front();
  CHECK(a.failed == ProbeFailure::starttls);
  INFO(a.reason);
  CHECK(a.reason.rfind("STARTTLS (smtp) dialogue timed out after 400 ms (waiting for the "
                       "greeting, ",
                       0) == 0);
  CHECK(a.duration < std::chrono::milliseconds(1000));
}

TEST_CASE("a probe's bound is one timeout per step it can take", "[agent][probe]") {
  TlsTarget t;
  t.step_timeout = std::chrono::seconds(3);
  CHECK(probe_bound(t) == std::chrono::seconds(12));  // resolve, connect, handshake, late alert
  t.protocol = Protocol::smtp;                        // and the dialogue
  CHECK(probe_bound(t) == std::chrono::seconds(15));
  t.protocol = Protocol::mqtt;  // and the exchange
  CHECK(probe_bound(t) == std::chrono::seconds(15));
}
