// check_live_set and RenewTarget::setup: the bootstrap question and the entry's ownership as
// results whose kind callers can test, with the messages `certwatch renew` and the log print.
#include "agent/renew/renew_target.h"

#include <catch2/catch.hpp>

#include "support/issuer_fixture.h"

using namespace certwatch::agent;
namespace fs = std::filesystem;
using LiveSet = certwatch::Result<std::optional<certwatch::pki::CertSetBytes>>;

namespace {

certwatch::config::Config managed_svc(const testing::Pki& lab) {
  certwatch::config::Config cfg;
  cfg.agent.state_dir = lab.tmp / "state";
  cfg.issuers.push_back({"lab", lab.tmp / "pki", "root-ca", std::nullopt});
  certwatch::config::ManagedEntry m;
  m.name = "svc";
  m.issuer = "lab";
  m.subject = "/CN=svc.lab.local";
  m.sans = {{certwatch::pki::SubjectAltName::Type::dns, "svc.lab.local"}};
  m.validity = certwatch::config::Seconds{3600};
  m.key = lab.tmp / "live" / "svc.key.pem";
  m.cert = lab.tmp / "live" / "svc.cert.pem";
  cfg.managed.push_back(m);
  return cfg;
}

certwatch::pki::CertSetBytes issued(testing::Pki& lab, const std::string& name) {
  REQUIRE(lab.issuer.issue(lab.server(name)).ok());
  const auto stem = lab.tmp / "out" / name;
  return {testing::read_file(stem.string() + ".key.pem"),
          testing::read_file(stem.string() + ".cert.pem"), ""};
}

}  // namespace

TEST_CASE("check_live_set: ok for the configured set, else a kind and the words",
          "[agent][renew]") {
  testing::Pki lab;
  boost::asio::io_context io;
  auto targets = make_renew_targets(io, managed_svc(lab));
  REQUIRE(targets.size() == 1);
  const auto& t = *targets.front();
  CHECK(t.setup.ok());

  const auto svc = issued(lab, "svc");
  CHECK(check_live_set(t, LiveSet(svc)).ok());

  const auto none = check_live_set(t, LiveSet(std::nullopt));
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().kind == certwatch::ErrorKind::not_found);
  CHECK(none.error().message == "no certificate deployed yet");

  const auto unreadable = check_live_set(
      t, LiveSet(certwatch::make_error("intent record: bad", certwatch::ErrorKind::io)));
  REQUIRE_FALSE(unreadable.ok());
  CHECK(unreadable.error().kind == certwatch::ErrorKind::io);
  CHECK(unreadable.error().message == "intent record: bad");

  const auto other = issued(lab, "other");
  auto other_key = svc;
  other_key.key = other.key;
  const auto wrong_key = check_live_set(t, LiveSet(other_key));
  REQUIRE_FALSE(wrong_key.ok());
  CHECK(wrong_key.error().kind == certwatch::ErrorKind::crypto);
  CHECK(wrong_key.error().message ==
        "the deployed certificate: the key does not match the certificate");

  const auto wrong_sans = check_live_set(t, LiveSet(other));
  REQUIRE_FALSE(wrong_sans.ok());
  CHECK(wrong_sans.error().kind == certwatch::ErrorKind::failed);
  CHECK(wrong_sans.error().message ==
        "the deployed certificate: its SANs differ from the configured ones");
}

TEST_CASE("an owner that does not resolve fails the target's setup as not_found",
          "[agent][renew]") {
  testing::Pki lab;
  auto cfg = managed_svc(lab);
  cfg.managed.front().owner = "certwatch-no-such-user";
  boost::asio::io_context io;
  auto targets = make_renew_targets(io, cfg);
  REQUIRE(targets.size() == 1);
  const auto& setup = targets.front()->setup;
  REQUIRE_FALSE(setup.ok());
  CHECK(setup.error().kind == certwatch::ErrorKind::not_found);
  CHECK(setup.error().message == "owner 'certwatch-no-such-user' does not exist");
}
