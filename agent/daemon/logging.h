// Logging setup: spdlog to stderr. Under systemd (JOURNAL_STREAM set) each line starts with
// the journald priority "<N>" (sd-daemon(3)) and carries no timestamp, since journald adds
// its own; otherwise a plain timestamped line. Call once at start, from the main thread.
#pragma once

#include <spdlog/common.h>

#include <optional>
#include <string_view>

namespace certwatch::agent {

// "trace", "debug", "info", "warning"/"warn", "error", "critical", "off".
std::optional<spdlog::level::level_enum> parse_log_level(std::string_view name);

// Installs the default logger. `journald` forces the prefix style; by default it follows
// JOURNAL_STREAM.
void setup_logging(spdlog::level::level_enum level, std::optional<bool> journald = std::nullopt);

// The sd-daemon priority for a spdlog level (3 error ... 7 debug).
int journald_priority(spdlog::level::level_enum level);

}  // namespace certwatch::agent
