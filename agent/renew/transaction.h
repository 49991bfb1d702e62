// One renewal transaction over the managed certificates that share a reload target (usually
// one): for each, issue a new key and certificate, judge them (renew_target.h) before
// anything live is touched, deploy the set atomically (pki/deploy/cert_set.h); then reload the
// server once; then prove by handshake that each verify_endpoint serves its new leaf. A set
// whose proof fails is rolled back to the previous one and the server reloaded again.
// Fault points (pki/deploy/fault_point.h, test builds): before_deploy, after_key_write,
// after_cert_write, after_chain_write (in the deploy), before_reload, after_reload.
// One transaction per entry: the caller holds each target's DeployLock
// (pki/deploy/deploy_lock.h) until `done` ran, so the recovery, the deploy and the rollback
// here never meet another transaction's files.
// Thread-safety: io_context thread only; the targets must outlive the transaction.
#pragma once

#include <utility>  // before asio: Boost 1.74 + GCC 12 + C++20

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/renew/renew_target.h"
#include "agent/renew/verifier.h"
#include "base/result.h"
#include "exporters/mqtt/payloads.h"

namespace certwatch::agent {

// The steps of a transaction, in the order they run. The first one that fails for a target
// is its outcome's `failed_step`; the rollback after a failed reload or proof is reported
// beside it (RenewOutcome::rollback, ::reload_after_rollback), not instead of it.
enum class RenewStep {
  none,                   // nothing failed
  setup,                  // the entry's owner or group does not resolve
  recover,                // finishing a deploy that a crash interrupted
  issue,                  // the issuer's order
  judge,                  // the issued set, checked before anything live is touched
  deploy,                 // writing the set to the live files
  reload,                 // the one reload for everything deployed
  verify,                 // the handshake that proves the new leaf is served
  rollback,               // restoring the previous set
  reload_after_rollback,  // the reload that makes the server read the restored set
};

// The words a step's error message is wrapped in: `before + message + after`. Operators match
// them (README.md, "Troubleshooting"), so they are written here and nowhere else. Every step
// that fails raises `renewal.failed` on the managed target (scheduler.cpp).
struct RenewStepWords {
  std::string_view before;
  std::string_view after;
  std::string_view succeeded;  // said when the step went well, where that is worth saying
};
RenewStepWords renew_step_words(RenewStep step);

struct RenewOutcome {
  std::string name;
  bool ok = false;
  RenewStep failed_step = RenewStep::none;  // the first step that failed, when !ok
  certwatch::Error failure;                 // that step's error, without the step's words
  bool rolled_back = false;                 // deployed, not served, previous set restored
  certwatch::Result<void> rollback;         // fails when the previous set could not be restored
  certwatch::Result<void> reload_after_rollback;
  // The operators' sentence, rendered once from the fields above by describe_failure() when
  // the transaction finishes; never key material.
  std::string error;
  bool verified = false;  // a handshake showed the new leaf served
  std::string serial;     // of the new leaf when ok
  int64_t not_before = 0, not_after = 0;
  double seconds = 0;  // wall time of the whole transaction
};

// "issuance failed: ...", "the server does not serve the new certificate (...); previous set
// restored"...: the failure of an outcome as one sentence; "" when nothing failed.
std::string describe_failure(const RenewOutcome& o);

// The `events` message of an outcome (exporters/mqtt/payloads.h): the one place that says
// which of the outcome's fields travel (not_before does not).
exporters::mqtt::RenewalEvent to_renewal_event(const RenewOutcome& o);

using RenewDone = std::function<void(std::vector<RenewOutcome>)>;

// Runs one transaction for `targets` (all with the same reload). `done` runs once on `io`.
void run_renewal(boost::asio::io_context& io, std::vector<std::shared_ptr<RenewTarget>> targets,
                 int64_t now, VerifyPolicy verify, RenewDone done);

}  // namespace certwatch::agent
