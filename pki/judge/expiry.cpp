#include "pki/judge/expiry.h"

#include <algorithm>

#include "base/duration.h"

namespace certwatch::pki {

ExpiryLimits expiry_limits(const Validity& v, const Thresholds& t) {
  const int64_t life = std::max<int64_t>(v.lifetime(), 0);
  return ExpiryLimits{std::min(t.warning_seconds, life / 3),
                      std::min(t.critical_seconds, life / 10)};
}

ExpiryStanding expiry_standing(const Validity& v, const Thresholds& t, int64_t now) {
  ExpiryStanding s;
  s.left = v.not_after - now;
  s.limits = expiry_limits(v, t);
  if (now > v.not_after)
    s.state = ExpiryState::expired;
  else if (now < v.not_before)
    s.state = ExpiryState::not_yet_valid;
  else if (s.left < s.limits.warning_seconds) {
    s.state = ExpiryState::expires_soon;
    s.critical = s.left < s.limits.critical_seconds;
  }
  return s;
}

std::vector<Finding> judge_record_expiry(const CertRecord& record, const JudgeOptions& options,
                                         const std::string& target) {
  require_instant(options);
  std::vector<Finding> out;
  const std::string at = target + "#" + std::to_string(record.index);
  const Validity v{record.not_before, record.not_after};
  const ExpiryStanding s = expiry_standing(v, options.thresholds, options.now);
  if (s.state == ExpiryState::expired) {
    out.push_back(make_finding(options.policy, "cert.expired", at,
                               "expired " + format_duration(options.now - v.not_after) + " ago"));
  } else if (s.state == ExpiryState::expires_soon) {
    auto f = make_finding(options.policy, "cert.expires_soon", at,
                          "expires in " + format_duration(s.left) + " (notAfter " +
                              format_iso8601(v.not_after) + ")");
    if (s.critical) f.severity = Severity::critical;
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace certwatch::pki
