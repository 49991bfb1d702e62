// From what a probe saw to an inventory entry: one endpoints: entry's judging context (trust,
// host, purpose, client identity; built once per config), and the report of one address,
// judged by the code that judges files (order, completeness, trust, host name, expiry, lints)
// plus the endpoint's own findings: the probe's failure (endpoint.unreachable,
// endpoint.handshake_failed, endpoint.protocol_failed) and endpoint.stale (the served leaf is
// not the leaf in expect_file: renewed on disk, never reloaded).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/inventory/inventory.h"
#include "agent/probe/tls_probe.h"
#include "base/result.h"
#include "config/config.h"
#include "config/judge_context.h"
#include "pki/judge/judge.h"

namespace certwatch::agent {

struct EndpointContext {
  config::EndpointEntry entry;
  std::string name;            // "host:port" (the `endpoint` label)
  config::JudgeContext judge;  // config::judge_context of the entry; the instant per probe
  std::vector<std::string> trust_errors;     // judge.trust_errors(), as the source logs them
  std::shared_ptr<probe::ProbeContext> tls;  // the client context (identity installed, if any)
  certwatch::Result<void> identity;  // an error: client_cert/client_key not used (tls is plain)
  probe::TlsTarget target;           // host, port, sni, timeout, protocol
  std::map<std::string, pki::Severity> severities;  // the config's, to tell a policy change
};

// The context of `entry`: trust from `trust`, the client identity read now (its error kept in
// `identity`, never thrown); endpoints without one share `plain` (a client context without
// identity, which may hold its own error: see ProbeContext).
std::shared_ptr<const EndpointContext> make_endpoint_context(
    const config::Config& cfg, const config::EndpointEntry& entry, pki::TrustStore& trust,
    const std::shared_ptr<probe::ProbeContext>& plain);
// A client context for probes: no identity, security level 0 (a server with a weak key still
// completes the handshake, so the judge can name the problem instead of a bare alert). If
// OpenSSL cannot make one, the context holds that error and every probe with it fails.
std::shared_ptr<probe::ProbeContext> make_plain_probe_context();
// Whether a stored outcome judged under `a` would be judged differently under `b` (trust,
// thresholds, severities, host or clients differ).
bool judged_alike(const EndpointContext& a, const EndpointContext& b);

// "host:port [address]": the inventory target of one address of an endpoint.
std::string endpoint_target(const EndpointContext& ctx, const std::string& address);

// The entry for one address's outcome of the probe at `probed_at`, judged at `now` (later
// when the stored outcome is judged again as time passes). `last_success` is carried over
// from the previous observation of the target (0: never).
InventoryEntry judge_address(const EndpointContext& ctx, const probe::AddressOutcome& outcome,
                             int64_t probed_at, int64_t now, int64_t last_success,
                             pki::VerifyCache* cache);

// The entry of an endpoint whose name did not resolve (target "host:port").
InventoryEntry judge_unresolved(const EndpointContext& ctx, const std::string& reason, int64_t now,
                                int64_t last_success);

}  // namespace certwatch::agent
