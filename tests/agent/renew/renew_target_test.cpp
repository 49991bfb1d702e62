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

namespace {

// A set for "svc" issued by the lab's root as if this host's clock were `ahead` seconds behind
// the CA's: the issuer back-dates by a minute, so its clock is set a minute further on.
int issued_sets = 0;
IssuedSet issued_ahead(testing::Pki& lab, int64_t ahead) {
  auto rq = lab.server("svc");
  rq.now = lab.now + ahead + 60;
  rq.out_dir = lab.tmp / ("out-" + std::to_string(ahead) + "-" + std::to_string(++issued_sets));
  const auto r = lab.issuer.issue(rq);
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.ok());
  const auto stem = (rq.out_dir / "svc").string();
  IssuedSet set;
  set.files = {testing::read_file(stem + ".key.pem"), testing::read_file(stem + ".cert.pem"),
               testing::read_file(stem + ".chain.pem")};
  auto root = certwatch::pki::Certificate::from_pem(
      testing::read_file(lab.tmp / "pki" / "root-ca" / "certs" / "root-ca.cert.pem"));
  REQUIRE(root.ok());
  set.anchors.push_back(*root);
  auto leaf = certwatch::pki::Certificate::from_pem(set.files.cert);
  REQUIRE(leaf.ok());
  REQUIRE(leaf->validity().not_before == lab.now + ahead);
  return set;
}

}  // namespace

TEST_CASE("judge_issued: a notBefore a little ahead is accepted, hours ahead refused with the skew",
          "[agent][renew]") {
  testing::Pki lab;
  boost::asio::io_context io;
  auto cfg = managed_svc(lab);
  CHECK(cfg.agent.issued_clock_skew == std::chrono::minutes(5));  // the default
  auto targets = make_renew_targets(io, cfg);
  REQUIRE(targets.size() == 1);
  const auto& t = *targets.front();

  // pebble does not back-date: a second or thirty ahead is a fresh, good certificate.
  for (const int64_t ahead : {1, 30}) {
    const auto set = issued_ahead(lab, ahead);
    const auto leaf = judge_issued(t, set, lab.now);
    INFO("ahead " << ahead << " s: " << (leaf ? std::string() : leaf.error().message));
    CHECK(leaf.ok());
  }

  const auto late = judge_issued(t, issued_ahead(lab, 2 * 3600), lab.now);
  REQUIRE_FALSE(late.ok());
  CHECK(late.error().message ==
        "issued set refused by the check: cert.not_yet_valid: notBefore is 2h ahead of this "
        "host's clock, beyond the 5m tolerance (agent.issued_clock_skew)");

  // The tolerance is the config's: with none, 30 s ahead is refused.
  cfg.agent.issued_clock_skew = std::chrono::seconds(0);
  auto strict = make_renew_targets(io, cfg);
  const auto refused = judge_issued(*strict.front(), issued_ahead(lab, 30), lab.now);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message ==
        "issued set refused by the check: cert.not_yet_valid: notBefore is 30s ahead of this "
        "host's clock, beyond the 0s tolerance (agent.issued_clock_skew)");
}
