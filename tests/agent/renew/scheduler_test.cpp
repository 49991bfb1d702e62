// RenewScheduler on a ManualClock (issue #11): a due certificate whose CA key cannot be opened
// (wrong passphrase) gives renewal.failed and touches nothing live; retries back off 1 min,
// doubling, never past notAfter; renewal.overdue once past due; success once the passphrase
// is right clears both, deploys the new set and keeps the old one.
#include "agent/renew/scheduler.h"

#include <catch2/catch.hpp>
#include <ctime>

#include "pki/deploy/deploy_lock.h"
#include "support/issuer_fixture.h"

using namespace certwatch::agent;
namespace fs = std::filesystem;
using std::chrono::milliseconds;

namespace {

struct Outcomes : SourceSink {
  std::vector<RenewOutcome> list;
  void renewal_finished(const RenewOutcome& o) override { list.push_back(o); }
};

struct Rig {
  boost::asio::io_context io;
  ManualClock clock;
  Inventory inventory;
  Outcomes reported;
  std::vector<RenewOutcome>& outcomes = reported.list;
  RenewScheduler scheduler{io, clock, inventory, reported};
  explicit Rig(int64_t start) : clock(io, start) {}
  // Lets posted work (issuance results) run; bounded.
  void settle() {
    for (int i = 0; i < 50; ++i) {
      io.restart();
      io.run_for(milliseconds(5));
    }
  }
  void advance(int64_t seconds) {
    clock.advance(std::chrono::seconds(seconds));
    settle();
  }
  std::vector<std::string> finding_ids(const std::string& name) const {
    std::vector<std::string> ids;
    if (const auto* e = inventory.find(managed_target(name)))
      for (const auto& f : e->report.findings) ids.push_back(f.id);
    return ids;
  }
};

bool has(const std::vector<std::string>& ids, const std::string& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

// One managed server certificate "svc" (1 h) of the fixture's root CA, deployed under `live`.
certwatch::config::Config one_managed(const testing::Pki& lab, const fs::path& live,
                                      std::optional<fs::path> passphrase_file) {
  certwatch::config::Config cfg;
  cfg.agent.state_dir = lab.tmp / "state";
  cfg.issuers.push_back({"lab", lab.tmp / "pki", "root-ca", std::move(passphrase_file)});
  certwatch::config::ManagedEntry m;
  m.name = "svc";
  m.issuer = "lab";
  m.subject = "/CN=svc.lab.local";
  m.sans = {{certwatch::pki::SubjectAltName::Type::dns, "svc.lab.local"}};
  m.validity = certwatch::config::Seconds{3600};
  m.key = live / "svc.key.pem";
  m.cert = live / "svc.cert.pem";
  m.chain = live / "svc.chain.pem";
  cfg.managed.push_back(m);
  return cfg;
}

}  // namespace

TEST_CASE(
    "renew scheduler: wrong passphrase -> renewal.failed, nothing live touched, backoff, then "
    "success",
    "[agent][renew]") {
  testing::Pki lab(certwatch::pki::Passphrase("right horse"));
  const fs::path live = lab.tmp / "live";
  fs::create_directories(live);
  // A live set that is due: 10 minutes left of a certificate managed as 1 h (renew at 20 min).
  auto rq = lab.server("svc");
  rq.validity_seconds = 600;
  rq.out_dir = live;
  rq.ca_passphrase = certwatch::pki::Passphrase("right horse");
  REQUIRE(lab.issuer.issue(rq).ok());
  const auto before = testing::snapshot(live);

  testing::write_file(lab.tmp / "pass", "wrong horse\n");
  const auto cfg = one_managed(lab, live, lab.tmp / "pass");

  Rig rig(lab.now);
  rig.scheduler.apply(cfg);
  rig.advance(0);  // due now: the timer of zero fires
  REQUIRE(rig.outcomes.size() == 1);
  CHECK_FALSE(rig.outcomes[0].ok);
  CHECK(rig.outcomes[0].error.find("issuance failed") != std::string::npos);
  CHECK(rig.outcomes[0].failed_step == RenewStep::issue);
  CHECK(testing::snapshot(live) == before);  // nothing live touched
  auto ids = rig.finding_ids("svc");
  CHECK(has(ids, "renewal.failed"));
  CHECK(has(ids, "renewal.overdue"));  // due 10 min before the start already
  auto st = rig.scheduler.status().front();
  CHECK(st.failures == 1);
  CHECK(st.next_at == lab.now + 60);

  // 1 min later: second failure, next in 2 min.
  rig.advance(60);
  REQUIRE(rig.outcomes.size() == 2);
  st = rig.scheduler.status().front();
  CHECK(st.failures == 2);
  CHECK(st.next_at == lab.now + 60 + 120);
  // Backoff never goes past notAfter: after 4 failures the 8-minute step is capped.
  rig.advance(120);
  rig.advance(240);
  REQUIRE(rig.outcomes.size() == 4);
  st = rig.scheduler.status().front();
  CHECK(st.next_at == st.not_after);
  CHECK(testing::snapshot(live) == before);

  // The right passphrase: the next attempt succeeds (no reload, no verify_endpoint here).
  testing::write_file(lab.tmp / "pass", "right horse\n");
  rig.advance(st.next_at - rig.clock.now());
  REQUIRE(rig.outcomes.size() == 5);
  CHECK(rig.outcomes.back().ok);
  ids = rig.finding_ids("svc");
  CHECK_FALSE(has(ids, "renewal.failed"));
  CHECK_FALSE(has(ids, "renewal.overdue"));
  CHECK(testing::snapshot(live) != before);
  st = rig.scheduler.status().front();
  CHECK(st.failures == 0);
  CHECK(st.not_after > lab.now + 3000);  // the new certificate: 1 h
  CHECK(st.next_at > rig.clock.now());
  CHECK(fs::exists(lab.tmp / "state" / "renew" / "svc" / "previous" / "1" / "cert.pem"));
  rig.scheduler.stop();
}

TEST_CASE("renew scheduler: a missing certificate is issued at start (bootstrap)",
          "[agent][renew]") {
  testing::Pki lab;
  const fs::path live = lab.tmp / "live";
  certwatch::config::Config cfg;
  cfg.agent.state_dir = lab.tmp / "state";
  cfg.issuers.push_back({"lab", lab.tmp / "pki", "root-ca", std::nullopt});
  certwatch::config::ManagedEntry m;
  m.name = "svc";
  m.issuer = "lab";
  m.subject = "/CN=svc.lab.local";
  m.sans = {{certwatch::pki::SubjectAltName::Type::dns, "svc.lab.local"},
            {certwatch::pki::SubjectAltName::Type::ip, "127.0.0.1"}};
  m.validity = certwatch::config::Seconds{90 * 86400};
  m.renew_before = certwatch::config::Seconds{30 * 86400};
  m.key = live / "k.pem";
  m.cert = live / "c.pem";
  cfg.managed.push_back(m);
  fs::create_directories(live);
  Rig rig(lab.now);
  rig.scheduler.apply(cfg);
  rig.advance(0);  // due now: the timer of zero fires
  REQUIRE(rig.outcomes.size() == 1);
  CHECK(rig.outcomes[0].ok);
  const auto st = rig.scheduler.status().front();
  // Due 30 days before notAfter, minus a jitter of at most 90d/20.
  CHECK(st.due_at <= st.not_after - 30 * 86400);
  CHECK(st.due_at >= st.not_after - 30 * 86400 - 90 * 86400 / 20);
  CHECK(testing::mode_of(live / "k.pem") == 0600);
  const auto* e = rig.inventory.find(managed_target("svc"));
  REQUIRE(e != nullptr);
  REQUIRE_FALSE(e->certs.empty());
  CHECK(e->certs.front()->serial == rig.outcomes[0].serial);
  rig.scheduler.stop();
}

TEST_CASE("renew scheduler: certificates with the same reload due within a minute share one reload",
          "[agent][renew]") {
  testing::Pki lab;
  const fs::path live = lab.tmp / "live";
  fs::create_directories(live);
  const auto reloads = lab.tmp / "reloads.log";
  certwatch::config::Config cfg;
  cfg.agent.state_dir = lab.tmp / "state";
  cfg.issuers.push_back({"lab", lab.tmp / "pki", "root-ca", std::nullopt});
  for (const auto* name : {"a", "b", "c"}) {
    certwatch::config::ManagedEntry m;
    m.name = name;
    m.issuer = "lab";
    m.subject = std::string("/CN=") + name;
    m.sans = {{certwatch::pki::SubjectAltName::Type::dns, std::string(name) + ".lab.local"}};
    m.validity = certwatch::config::Seconds{3600};
    m.key = live / (std::string(name) + ".key.pem");
    m.cert = live / (std::string(name) + ".cert.pem");
    m.reload.kind = certwatch::config::Reload::Kind::command;
    // "c" reloads another server: its own transaction and reload.
    m.reload.command.argv = {
        "sh", "-c",
        std::string("echo ") + (name[0] == 'c' ? "other" : "shared") + " >> " + reloads.string()};
    cfg.managed.push_back(m);
  }
  Rig rig(lab.now);
  rig.scheduler.apply(cfg);
  rig.advance(0);
  REQUIRE(rig.outcomes.size() == 3);
  for (const auto& o : rig.outcomes) CHECK(o.ok);
  const auto log = testing::read_file(reloads);
  CHECK(std::count(log.begin(), log.end(), '\n') == 2);  // one reload each, not three
  CHECK(log.find("shared") != std::string::npos);
  CHECK(log.find("other") != std::string::npos);
  rig.scheduler.stop();
}

TEST_CASE("renew scheduler: a missing CA key gives renewal.failed and touches nothing live",
          "[agent][renew]") {
  testing::Pki lab;
  const fs::path live = lab.tmp / "live";
  fs::create_directories(live);
  auto rq = lab.server("svc");
  rq.validity_seconds = 600;
  rq.out_dir = live;
  REQUIRE(lab.issuer.issue(rq).ok());
  const auto before = testing::snapshot(live);
  fs::remove(lab.issuer.ca_key_path("root-ca"));
  const auto cfg = one_managed(lab, live, std::nullopt);
  Rig rig(lab.now);
  rig.scheduler.apply(cfg);
  rig.advance(0);
  REQUIRE(rig.outcomes.size() == 1);
  CHECK_FALSE(rig.outcomes[0].ok);
  INFO(rig.outcomes[0].error);
  CHECK(rig.outcomes[0].error.find("issuance failed") != std::string::npos);
  CHECK(rig.outcomes[0].failed_step == RenewStep::issue);
  CHECK(has(rig.finding_ids("svc"), "renewal.failed"));
  CHECK(testing::snapshot(live) == before);
  rig.scheduler.stop();
}

TEST_CASE(
    "renew scheduler: a due entry whose lock another process holds waits without failing, then "
    "renews",
    "[agent][renew]") {
  testing::Pki lab;
  const fs::path live = lab.tmp / "live";
  fs::create_directories(live);
  const auto cfg = one_managed(lab, live, std::nullopt);  // nothing deployed: due at once
  // Another process (`certwatch renew`) holds the entry.
  auto held = certwatch::pki::DeployLock::try_acquire(lab.tmp / "state" / "renew" / "svc", "renew");
  REQUIRE(held.ok());
  REQUIRE(held->has_value());
  Rig rig(lab.now);
  rig.scheduler.apply(cfg);
  rig.advance(0);
  rig.advance(5);
  CHECK(rig.outcomes.empty());
  CHECK(rig.scheduler.status().front().failures == 0);
  CHECK_FALSE(has(rig.finding_ids("svc"), "renewal.failed"));
  CHECK_FALSE(fs::exists(live / "svc.cert.pem"));
  // Released: the next poll (1 s on the agent clock) takes it and renews.
  held->reset();
  rig.advance(1);
  REQUIRE(rig.outcomes.size() == 1);
  CHECK(rig.outcomes[0].ok);
  CHECK(fs::exists(live / "svc.cert.pem"));
  rig.scheduler.stop();
}
