// Durations as written in the config and on the command line: "90d", "12h", "30s", "10m",
// also "1w" and compounds such as "1h30m". Shared by the CLI and the config loader.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace certwatch {

// Parses a duration into seconds. Units: w (weeks), d, h, m (minutes), s. A number without a
// unit is rejected (ambiguous). Negative, empty and overflowing values are errors.
Result<int64_t> parse_duration(std::string_view text);

// The shortest exact rendering: 86400 -> "1d", 5400 -> "1h30m", 0 -> "0s".
std::string format_duration(int64_t seconds);

// A POSIX timestamp as "2026-03-01 12:00 UTC" (minutes precision, for messages and tables).
std::string format_timestamp(int64_t posix_seconds);
// A POSIX timestamp as "2026-03-01T12:00:00Z" (RFC 3339, for JSON and ledgers).
std::string format_iso8601(int64_t posix_seconds);

}  // namespace certwatch
