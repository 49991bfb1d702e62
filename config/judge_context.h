// One way from a config entry to what the judge is asked (pki::JudgeOptions): every source of
// the agent (watch, endpoints, managed, ledger, the MQTT broker's diagnosis) and the CLI's
// check and probe build their context here, through one core (make_judge_context), so that a
// new option of the judge is set in one place and trust is read through one TrustStore.
//
// A JudgeContext has no instant: it is built once per config and judges for as long as the
// config holds. at(now) gives the options of one judgement, with the caller's Clock's time
// (the agent's injected Clock; the CLI's system clock read once); the judge refuses options
// without one (pki::require_instant).
// Thread-safety: a JudgeContext is immutable once built and may be shared between threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "pki/judge/judge_options.h"
#include "pki/judge/trust_store.h"

namespace certwatch::config {

// Everything a context is made of, whatever entry it came from.
struct JudgeSpec {
  std::shared_ptr<const pki::TrustSet> trust;  // null: no anchors
  std::optional<std::string> host;
  pki::Purpose purpose = pki::Purpose::any;
  pki::Thresholds thresholds;
  pki::SeverityPolicy policy;
  bool expect_leaf = false;
  std::vector<std::string> clients;
  // The agent judges one file per scan-pool thread: 1. The CLI's walk may fan out: 0.
  unsigned threads = 1;
};

struct JudgeContext {
  pki::JudgeOptions options;  // now unset: use at()
  std::shared_ptr<const pki::TrustSet> trust;
  // The trust files that could not be used ("path: why"), for the reports' notes and logs.
  const std::vector<std::string>& trust_errors() const;
  // The options of one judgement at `now` (POSIX seconds from the caller's Clock; > 0).
  pki::JudgeOptions at(int64_t now) const;
};

// The core every entry kind goes through.
JudgeContext make_judge_context(JudgeSpec spec);

// A watch entry: its trust (else the global list), host, purpose (unset: none checked, as
// `check` without --purpose), clients; the agent's thresholds and severities.
JudgeContext judge_context(const Config& cfg, const WatchEntry& e, pki::TrustStore& store);
// An endpoint: its served chain starts with a leaf for a server; host = sni, else the target's.
JudgeContext judge_context(const Config& cfg, const EndpointEntry& e, pki::TrustStore& store);
// A managed entry's deployed set: a server's (or client's, by profile) file, against the
// anchors of its issuer (issuer_chain_trust).
JudgeContext judge_context(const Config& cfg, const ManagedEntry& e, pki::TrustStore& store);
// A managed entry's freshly issued set before it is deployed: against the anchors the issuer
// handed over, host = the first SAN; the judge's default thresholds and severities (the check
// refuses on chain and critical findings, which the config's severities must not soften).
JudgeContext issued_judge_context(const ManagedEntry& e, std::vector<pki::Certificate> anchors);
// Ledger rows: no trust, the agent's thresholds and severities (expiry only).
JudgeContext ledger_judge_context(const Config& cfg);
// The MQTT broker as Paho verifies it: mqtt.ca, else the system bundle; host from the URL;
// the judge's default thresholds and severities.
JudgeContext broker_judge_context(const std::optional<std::filesystem::path>& ca,
                                  const std::string& host, pki::TrustStore& store);
// `certwatch check` and `certwatch probe`: anchors already read from --ca-bundle (the CLI's own
// strict rules: an unusable bundle is a usage error), and the flags.
struct CliJudgeFlags {
  std::vector<pki::Certificate> anchors;
  std::optional<std::string> host;
  pki::Purpose purpose = pki::Purpose::any;
  pki::Thresholds thresholds;
  std::vector<std::string> clients;
  bool expect_leaf = false;  // probe: a served chain
};
JudgeContext cli_judge_context(CliJudgeFlags flags);

// The anchors an issuer's chain is judged against: a built-in CA's ca-bundle.pem; an ACME
// issuer's chain_trust, else its trust, else the system bundle.
std::vector<std::filesystem::path> issuer_chain_trust(const IssuerEntry& issuer);

}  // namespace certwatch::config
