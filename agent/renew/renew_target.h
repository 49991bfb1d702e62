// One managed certificate as the renewer works with it: its config entry, its issuer backend,
// its deployed set's store under state_dir, the ownership its files are written with, and
// how its server is checked after a reload. Built from the config by the scheduler and by
// `certwatch renew` alike (one code path).
// Thread-safety: io_context thread only.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/probe/endpoint_judge.h"
#include "agent/renew/cert_issuer.h"
#include "base/result.h"
#include "config/config.h"
#include "pki/deploy/cert_set.h"
#include "pki/judge/judge.h"

namespace certwatch::agent {

struct RenewTarget {
  config::ManagedEntry entry;
  std::shared_ptr<CertIssuer> issuer;
  std::unique_ptr<pki::CertSetStore> store;
  pki::CertSetOwnership ownership;
  std::shared_ptr<const EndpointContext> verify;  // null: no verify_endpoint
  // agent.issued_clock_skew: how far an issued leaf's notBefore may be ahead of `now`.
  std::chrono::seconds issued_clock_skew{300};
  // Fails when the owner or group does not resolve: every renewal fails with it.
  certwatch::Result<void> setup;
};

// <state_dir>/renew/<name>: the store of a managed entry's sets.
std::filesystem::path renew_state_dir(const config::Config& cfg, const std::string& name);

// Builds the targets of every managed entry (issuers shared per issuers[] entry).
std::vector<std::shared_ptr<RenewTarget>> make_renew_targets(boost::asio::io_context& io,
                                                             const config::Config& cfg);

// What the live set (the store's read_live()) says, judged against the entry: ok when it is
// usable as it is; otherwise why it must be issued now (unreadable store, missing, unreadable
// certificate, key does not match, other SANs, other key type). Kinds: not_found when nothing
// is deployed, crypto when the key does not match, failed when it is not the configured one.
certwatch::Result<void> check_live_set(
    const RenewTarget& t, const certwatch::Result<std::optional<pki::CertSetBytes>>& live);

// The live certificate is the current one of its name in the issuer's records again, where
// sets that never went live superseded it (a crash between issuance and deploy, or between a
// rollback and its withdraw; cert_issuer.h reinstate()). Call under the entry's lock, after
// the store's recover(). Returns how many it withdrew; nothing to do when no set is live.
certwatch::Result<int> reinstate_live(const RenewTarget& t, int64_t now);
// The agent's log line for reinstate_live's answer (nothing when there was nothing to do).
void log_reinstated(const std::string& name, const certwatch::Result<int>& n);

// Judges an issued set before anything live is touched: key matches the leaf, the chain is
// complete and in order up to the issuer's root, the leaf lies inside its issuer's validity,
// SANs, subject and key type are the configured ones. An error names the first problem. A
// notBefore up to issued_clock_skew ahead of `now` is accepted (judged at that notBefore, and
// logged); further ahead it is refused with the skew named.
certwatch::Result<pki::Certificate> judge_issued(const RenewTarget& t, const IssuedSet& set,
                                                 int64_t now);

}  // namespace certwatch::agent
