// One renewal transaction over the managed certificates that share a reload target (usually
// one): for each, issue a new key and certificate, judge them (renew_target.h) before
// anything live is touched, deploy the set atomically (pki/deploy/cert_set.h); then reload the
// server once; then prove by handshake that each verify_endpoint serves its new leaf. A set
// whose proof fails is rolled back to the previous one and the server reloaded again.
// Fault points (pki/deploy/fault_point.h, test builds): after_key_write, after_cert_write,
// after_chain_write (in the deploy), before_reload, after_reload.
// Thread-safety: io_context thread only; the targets must outlive the transaction.
#pragma once

#include <utility>  // before asio: Boost 1.74 + GCC 12 + C++20

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent/renew/renew_target.h"
#include "agent/renew/verifier.h"
#include "exporters/mqtt/payloads.h"

namespace certwatch::agent {

struct RenewOutcome {
  std::string name;
  bool ok = false;
  std::string error;         // why not (for renewal.failed); never key material
  bool rolled_back = false;  // deployed, not served, previous set restored
  bool verified = false;     // a handshake showed the new leaf served
  std::string serial;        // of the new leaf when ok
  int64_t not_before = 0, not_after = 0;
  double seconds = 0;  // wall time of the whole transaction
};

// The `events` message of an outcome (exporters/mqtt/payloads.h): the one place that says
// which of the outcome's fields travel (not_before does not).
exporters::mqtt::RenewalEvent to_renewal_event(const RenewOutcome& o);

using RenewDone = std::function<void(std::vector<RenewOutcome>)>;

// Runs one transaction for `targets` (all with the same reload). `done` runs once on `io`.
void run_renewal(boost::asio::io_context& io, std::vector<std::shared_ptr<RenewTarget>> targets,
                 int64_t now, VerifyPolicy verify, RenewDone done);

}  // namespace certwatch::agent
