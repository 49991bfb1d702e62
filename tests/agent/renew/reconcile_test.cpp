// reconcile_endpoints (issue #22): which servers can say whether a managed certificate's
// deployed leaf is served — its verify_endpoint, and every endpoints: entry whose expect_file
// is the managed certificate or chain file however the path is spelled; nothing else, and a
// server asked already is not asked twice. reconcile() without anything to ask says so.
#include "agent/renew/reconcile.h"

#include <catch2/catch.hpp>

#include "support/fixtures.h"

using namespace certwatch::agent;
namespace fs = std::filesystem;

namespace reconcile_unit {

certwatch::config::EndpointEntry endpoint(const std::string& host, uint16_t port,
                                          std::optional<fs::path> expect_file) {
  certwatch::config::EndpointEntry e;
  e.target = {host, port};
  e.expect_file = std::move(expect_file);
  return e;
}

}  // namespace reconcile_unit

TEST_CASE("reconcile: verify_endpoint and the endpoints whose expect_file is the managed file",
          "[renew][reconcile]") {
  testing::TempDir tmp;
  const auto live = tmp / "live";
  fs::create_directories(live / "sub");
  certwatch::config::Config cfg;
  RenewTarget t;
  t.entry.name = "svc";
  t.entry.cert = live / "svc.cert.pem";
  t.entry.chain = live / "svc.chain.pem";
  using reconcile_unit::endpoint;
  cfg.endpoints = {
      endpoint("a.lab.test", 443,
               live / "sub" / ".." / "svc.cert.pem"),        // the cert, spelled otherwise
      endpoint("b.lab.test", 443, live / "svc.chain.pem"),   // the chain
      endpoint("c.lab.test", 443, live / "other.cert.pem"),  // another file
      endpoint("d.lab.test", 443, std::nullopt),             // nothing expected
      endpoint("e.lab.test", 8883, live / "svc.cert.pem"),   // the verify_endpoint's
  };
  cfg.endpoints.back().protocol = certwatch::config::Protocol::mqtt;

  SECTION("without verify_endpoint") {
    const auto asks = reconcile_endpoints(cfg, t);
    std::vector<std::string> names;
    for (const auto& a : asks) names.push_back(a->name);
    CHECK(names == std::vector<std::string>{"a.lab.test:443", "b.lab.test:443", "e.lab.test:8883"});
    // The leaf is all that is asked: no MQTT exchange after the handshake.
    CHECK(asks.back()->target.protocol == certwatch::config::Protocol::tls);
  }
  SECTION("with verify_endpoint: it comes first and is not asked twice") {
    auto verify = std::make_shared<EndpointContext>();
    verify->entry.target = {"e.lab.test", 8883};
    verify->name = "e.lab.test:8883";
    t.verify = verify;
    const auto asks = reconcile_endpoints(cfg, t);
    REQUIRE(asks.size() == 3);
    CHECK(asks[0] == t.verify);
    CHECK(asks[1]->name == "a.lab.test:443");
    CHECK(asks[2]->name == "b.lab.test:443");
  }
}

TEST_CASE("reconcile: nothing deployed or nothing to ask is not checked, served unknown",
          "[renew][reconcile]") {
  testing::TempDir tmp;
  boost::asio::io_context io;
  auto t = std::make_shared<RenewTarget>();
  t->entry.name = "svc";
  t->entry.cert = tmp / "svc.cert.pem";
  t->entry.key = tmp / "svc.key.pem";
  t->store = std::make_unique<certwatch::pki::CertSetStore>(
      tmp / "state", certwatch::pki::CertSetFiles{t->entry.key, t->entry.cert, std::nullopt});
  int calls = 0;
  ReconcileOutcome out;
  reconcile(io, t, {}, VerifyPolicy{}, [&](ReconcileOutcome r) {
    ++calls;
    out = std::move(r);
  });
  io.run();
  CHECK(calls == 1);
  CHECK(out.result == ReconcileOutcome::Result::unchecked);
  CHECK(out.served == -1);
  CHECK_FALSE(out.failed());
  CHECK(out.message.find("not checked: no certificate deployed yet") != std::string::npos);
}
