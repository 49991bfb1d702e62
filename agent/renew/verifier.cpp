#include "agent/renew/verifier.h"

#include <boost/asio/steady_timer.hpp>

namespace certwatch::agent {
namespace {

struct Verification : std::enable_shared_from_this<Verification> {
  Verification(boost::asio::io_context& io, probe::TlsTarget t,
               std::shared_ptr<probe::ProbeContext> c, std::string expected, VerifyPolicy p,
               VerifyDone d)
      : io(io),
        timer(io),
        target(std::move(t)),
        ctx(std::move(c)),
        expected(std::move(expected)),
        policy(p),
        done(std::move(d)) {}

  void attempt() {
    ++outcome.attempts;
    auto self = shared_from_this();
    probe::start_probe(io, target, ctx, [self](probe::TlsProbeResult r) { self->judge(r); });
  }

  void judge(const probe::TlsProbeResult& r) {
    bool all = !r.addresses.empty();
    // Every address that fails is named, not only the last: with a name that resolves to
    // several nodes, the operator must learn which one is stale.
    std::vector<std::string> problems;
    outcome.stale.clear();
    if (r.resolve_error) problems.push_back(*r.resolve_error);  // "cannot resolve HOST: why"
    for (const auto& a : r.addresses) {
      if (a.chain.empty()) {
        all = false;
        problems.push_back(a.address + ": " +
                           (a.reason.empty() ? std::string(probe::describe(a.failed)) : a.reason));
        continue;
      }
      outcome.served_sha256 = a.chain.front().sha256_hex();
      outcome.served_serial = a.chain.front().serial_hex();
      if (outcome.served_sha256 != expected) {
        all = false;
        outcome.stale.push_back(a.address + " serves serial " + outcome.served_serial);
        problems.push_back(a.address + " still serves serial " + outcome.served_serial);
      }
    }
    outcome.message.clear();
    for (const auto& p : problems) outcome.message += (outcome.message.empty() ? "" : "; ") + p;
    if (all) {
      outcome.served = true;
      outcome.message.clear();
      return done(std::move(outcome));
    }
    if (outcome.attempts >= policy.attempts) {
      outcome.message =
          "after " + std::to_string(outcome.attempts) + " handshakes: " + outcome.message;
      return done(std::move(outcome));
    }
    timer.expires_after(policy.pause);
    timer.async_wait(
        [self = shared_from_this()](const boost::system::error_code&) { self->attempt(); });
  }

  boost::asio::io_context& io;
  boost::asio::steady_timer timer;
  probe::TlsTarget target;
  std::shared_ptr<probe::ProbeContext> ctx;
  std::string expected;
  VerifyPolicy policy;
  VerifyDone done;
  VerifyOutcome outcome;
};

}  // namespace

void verify_served(boost::asio::io_context& io, const probe::TlsTarget& target,
                   std::shared_ptr<probe::ProbeContext> ctx, std::string expected_sha256,
                   VerifyPolicy policy, VerifyDone done) {
  std::make_shared<Verification>(io, target, std::move(ctx), std::move(expected_sha256), policy,
                                 std::move(done))
      ->attempt();
}

}  // namespace certwatch::agent
