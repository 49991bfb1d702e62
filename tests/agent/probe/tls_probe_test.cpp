// The probe without a server: a client context that could not be made is reported as the
// probe's failure (a finding of the endpoint) instead of an exception out of the event loop.
// Probes of real servers are tests/integration/probe_test.cpp.
#include "agent/probe/tls_probe.h"

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
