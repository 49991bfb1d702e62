// Retry-After (RFC 9110 10.2.3) as the ACME polls and ARI read it: delay-seconds or an
// HTTP-date, turned into seconds from `now_unix`; nullopt when absent or unreadable.
// Thread-safety: reentrant.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace certwatch::agent::acme {

std::optional<int64_t> parse_retry_after(const std::string& value, int64_t now_unix);

}  // namespace certwatch::agent::acme
