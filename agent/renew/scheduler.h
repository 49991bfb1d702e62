// The renewal scheduler (issue #11): when each managed certificate is due, and what happens
// when a transaction fails. On the agent's Clock, so tests move time instead of sleeping.
//
// - Bootstrap: a managed certificate that is missing, unreadable, or does not match its
//   entry (key, SANs, key type) is due at once. An interrupted deploy is finished first, or
//   undone when it cannot be (pki/deploy/cert_set.h recover()); an undone one is due at once.
// - Due: notAfter - renew_before (default a third of the configured validity), minus a
//   jitter of up to validity/20 drawn once per certificate; or, when the issuer offers ARI
//   (an ACME directory with renewalInfo), a moment drawn in the CA's suggested window.
// - Failure: retry after agent.renew_retry (1 min), doubling, capped at 1 h and never later than
// notAfter;
//   renewal.failed (critical) until a success; renewal.overdue once the due time has passed.
// - Reconcile (reconcile.h): at start for each deployed entry that is not due, and after each
//   transaction; RenewStatus::served is its verdict, and a server that a reload cannot make
//   serve the deployed leaf is a failed attempt (renewal.failed with the reason).
// - Certificates with the same reload that are due within the same minute share one
//   transaction, so the server reloads once.
// - One transaction per entry across threads and processes: each holds the entry's
//   DeployLock (pki/deploy/deploy_lock.h) from recovery to its end. A due entry whose lock
//   another process (`certwatch renew`) holds is not a failure: it is tried again every
//   kLockPoll on the agent clock, and the live set read again before deciding. An apply()
//   that changes an entry while its transaction runs defers the new entry until it finished.
// Each managed certificate is an inventory target (kind managed, id "managed/<name>")
// holding its deployed chain as judged and the renewal findings, so they reach /metrics
// (certwatch_finding), the API and the status page like any other finding.
// Thread-safety: io_context thread only.
#pragma once

#include <utility>  // before asio: Boost 1.74 + GCC 12 + C++20

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "agent/clock/clock.h"
#include "agent/inventory/inventory.h"
#include "agent/inventory/source_sink.h"
#include "agent/renew/reconcile.h"
#include "agent/renew/transaction.h"
#include "config/config.h"
#include "pki/judge/trust_store.h"

namespace certwatch::agent {

// The schedule of one managed certificate, for the API and tests.
struct RenewStatus {
  std::string name;
  int64_t due_at = 0;   // when renewal is due by its window (0: now, bootstrap)
  int64_t next_at = 0;  // the next attempt (due_at, or later after failures)
  int64_t last_success = 0;
  int failures = 0;  // consecutive
  // 1: the server was last seen serving the deployed leaf; 0: it served another one; -1: not
  // known (no verify_endpoint nor an endpoint whose expect_file is the managed file, or not
  // asked yet). certwatch_renewal_served.
  int served = -1;
  std::string last_error;
  bool ari = false;    // due_at comes from the CA's suggested window (ARI)
  std::string serial;  // of the deployed leaf
  int64_t not_after = 0;
  bool running = false;
};

// The inventory id of a managed certificate.
TargetId managed_target(const std::string& name);

class RenewScheduler {
 public:
  RenewScheduler(boost::asio::io_context& io, Clock& clock, Inventory& inventory, SourceSink& sink);
  ~RenewScheduler();
  RenewScheduler(const RenewScheduler&) = delete;
  RenewScheduler& operator=(const RenewScheduler&) = delete;

  // (Re)builds the schedule when the managed, issuers, endpoints or state_dir sections changed.
  void apply(const config::Config& cfg);
  void stop();
  std::vector<RenewStatus> status() const;
  void set_verify_policy(VerifyPolicy p) { verify_ = p; }

 private:
  struct Managed {
    std::shared_ptr<RenewTarget> target;
    RenewStatus st;
    int64_t jitter = 0;
    std::unique_ptr<ClockTimer> timer;
    std::string reload_key;
    uint64_t window_asks = 0;  // suggested_window questions so far: only the last answer counts
    // ARI: the CA is asked again after its Retry-After (ari_timer); the live leaf it is asked
    // about, and the last window it suggested (a moment is drawn again only when it moves).
    std::unique_ptr<ClockTimer> ari_timer;
    std::string leaf_der;
    int64_t window_start = 0, window_end = 0;
    // Reconcile (reconcile.h): the servers that can be asked, and the one in flight (0: none;
    // a renewal due meanwhile waits for it).
    std::vector<std::shared_ptr<const EndpointContext>> asks;
    uint64_t reconciling = 0;
    bool waiting = false;   // due, but another process holds the lock
    bool deferred = false;  // a changed entry waiting for the transaction of the old one
  };

  void schedule_from_live(Managed& m);
  void ask_suggested_window(Managed& m);
  void ask_again_in(Managed& m, int64_t seconds);
  void arm(Managed& m);
  void recover(Managed& m);
  void fire(const std::string& name);
  void wait_for_lock(Managed& m, const std::string& holder);
  void finished(const std::vector<RenewOutcome>& outcomes);
  void start_reconcile(Managed& m);
  void reconciled(const std::string& name, uint64_t id, const ReconcileOutcome& r);
  void publish(Managed& m);
  int64_t window(const Managed& m) const;

  boost::asio::io_context& io_;
  Clock& clock_;
  Inventory& inventory_;
  SourceSink& sink_;
  VerifyPolicy verify_;
  config::Config config_;
  pki::TrustStore trust_;  // the issuers' bundles, for judging the deployed sets
  bool configured_ = false;
  bool stopped_ = false;
  std::map<std::string, Managed> managed_;
  uint64_t reconciles_ = 0;
  std::set<std::string> in_flight_;  // entries whose transaction runs; survives apply()
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // transactions outliving us
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace certwatch::agent
