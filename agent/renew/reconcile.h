// Reconcile (issue #22): does the server serve the managed certificate that is deployed on
// disk? A crash between the deploy and the reload (kill -9, power loss) leaves the new set on
// disk and the old certificate served, and nothing in the files tells. So at the agent's
// start, after every renewal transaction and in `certwatch renew`, the servers that can be
// asked — the entry's verify_endpoint, and every `endpoints:` entry whose expect_file is the
// managed certificate or chain file — get one handshake each; every address a name resolves
// to must serve the deployed leaf. Where one does not, the entry's reload runs once and the
// handshakes are repeated (verifier.h, bounded); if the server still serves another leaf the
// outcome is a failure with the reason (the scheduler raises renewal.failed with it).
// Thread-safety: io_context thread only; the target must stay alive until `done` runs (the
// shared_ptr is held).
#pragma once

#include <utility>  // before asio: Boost 1.74 + GCC 12 + C++20

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent/probe/endpoint_judge.h"
#include "agent/renew/renew_target.h"
#include "agent/renew/verifier.h"
#include "config/config.h"

namespace certwatch::agent {

struct ReconcileOutcome {
  enum class Result {
    unchecked,    // no usable deployed set, or nothing that can be asked
    served,       // every address already served the deployed leaf
    reloaded,     // an address served another leaf; after the reload every one serves it
    unreachable,  // no address served another leaf, but some gave no answer: not known
    failed,       // an address serves another leaf, and the reload did not change that
  };
  Result result = Result::unchecked;
  // For RenewStatus::served: 1 served, 0 another leaf is served, -1 not known.
  int served = -1;
  std::string deployed_serial;
  // The sentence for logs, `certwatch renew` and renewal.failed ("served certificate was
  // stale (...), reloaded, now serves serial B"); never key material.
  std::string message;
  bool failed() const { return result == Result::failed; }
};

using ReconcileDone = std::function<void(ReconcileOutcome)>;

// The servers that can say whether `t`'s deployed leaf is served: its verify_endpoint (the
// context the transaction verifies with), then each `endpoints:` entry of `cfg` whose
// expect_file is the entry's cert or chain file (another target than verify_endpoint).
std::vector<std::shared_ptr<const EndpointContext>> reconcile_endpoints(const config::Config& cfg,
                                                                        const RenewTarget& t);

// Asks each of `asks` once whether it serves `t`'s live leaf; reloads once when one does not,
// then verifies them again under `policy`. `done` runs once on `io`.
void reconcile(boost::asio::io_context& io, std::shared_ptr<RenewTarget> t,
               std::vector<std::shared_ptr<const EndpointContext>> asks, VerifyPolicy policy,
               ReconcileDone done);

}  // namespace certwatch::agent
