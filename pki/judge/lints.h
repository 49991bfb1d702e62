// Per-certificate lints in zlint's shape: each lint is an id from the catalogue
// (pki/judge/finding.cpp), an `applies` predicate and a `check` that returns a message when the
// certificate breaks the rule. The judge runs every lint that applies to every distinct
// certificate of a file. Thread-safety: lints are pure functions.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "pki/judge/cert_role.h"
#include "pki/judge/expiry.h"  // expiry_limits, for the callers that include lints.h for it
#include "pki/judge/finding.h"
#include "pki/judge/judge_options.h"
#include "pki/x509/certificate.h"

namespace certwatch::pki {

struct LintContext {
  const Certificate& cert;
  CertRole role = CertRole::unrelated;
  bool is_leaf = false;                 // the chain's leaf (not in a CA bundle)
  const Certificate* issuer = nullptr;  // its issuer on the path, if known
  bool on_path = false;
  int intermediates_below = 0;  // on the path: non-self-issued CAs between it and the leaf
  const JudgeOptions& options;
};

struct LintResult {
  std::string message;
  std::optional<Severity> severity;  // overrides the policy (cert.expires_soon -> critical)
};

struct Lint {
  std::string_view id;
  bool (*applies)(const LintContext&);
  std::optional<LintResult> (*check)(const LintContext&);
};

// Every lint, in catalogue order.
std::span<const Lint> all_lints();

// Runs every lint that applies; findings target `target`.
std::vector<Finding> run_lints(const LintContext& ctx, const std::string& target);

}  // namespace certwatch::pki
