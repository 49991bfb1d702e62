// The expiry rule, once: where a validity window stands at an instant against the thresholds
// (DESIGN.md: warning below min(warning, lifetime/3), critical below min(critical,
// lifetime/10)). The lints judge parsed certificates with it (pki/judge/lints.cpp); a record
// known only by its dates (a ledger row: the issuer's record of a certificate that lives on a
// device, no bytes here) is judged for expiry alone with judge_record_expiry.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pki/judge/finding.h"
#include "pki/judge/judge_options.h"
#include "pki/judge/report.h"
#include "pki/x509/certificate.h"

namespace certwatch::pki {

struct ExpiryLimits {
  int64_t warning_seconds;
  int64_t critical_seconds;
};
ExpiryLimits expiry_limits(const Validity& v, const Thresholds& t);

enum class ExpiryState { not_yet_valid, valid, expires_soon, expired };
struct ExpiryStanding {
  ExpiryState state = ExpiryState::valid;
  bool critical = false;  // expires_soon below the critical limit
  int64_t left = 0;       // seconds until notAfter (negative once expired)
  ExpiryLimits limits{};
};
ExpiryStanding expiry_standing(const Validity& v, const Thresholds& t, int64_t now);

// cert.expired / cert.expires_soon of a record without certificate bytes, at options.now, with
// options' thresholds and severity policy; findings target "<target>#<record.index>". A record
// not valid yet has no finding (its row says when it starts; nothing is served yet).
std::vector<Finding> judge_record_expiry(const CertRecord& record, const JudgeOptions& options,
                                         const std::string& target);

}  // namespace certwatch::pki
