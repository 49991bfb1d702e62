#include "agent/inventory/rejudge_time.h"

#include <algorithm>
#include <limits>

namespace certwatch::agent {

int64_t next_rejudge_time(const pki::Report& report, const pki::Thresholds& t, int64_t now) {
  int64_t next = std::numeric_limits<int64_t>::max();
  auto consider = [&](int64_t at) {
    if (at > now && at < next) next = at;
  };
  for (const auto& c : report.certs) {
    const int64_t lifetime = c.not_after - c.not_before;
    consider(c.not_before);
    consider(c.not_after - std::min(t.warning_seconds, lifetime / 3));
    consider(c.not_after - std::min(t.critical_seconds, lifetime / 10));
    consider(c.not_after + 1);
  }
  return next;
}

}  // namespace certwatch::agent
