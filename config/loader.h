// Loads and validates the one YAML config file (schema: config/config.h).
//
// Every problem is collected (not just the first) and reported as "FILE:LINE:COLUMN: message"
// with 1-based line and column; on any problem there is no Config and nothing may start.
// Error classes: YAML syntax, unknown key (with "did you mean"), duplicate key, wrong type,
// bad duration, bad enum value, bad number, missing required key, bad listen/host:port
// address, bad SAN, missing file, duplicate watch path / entry name, unknown issuer reference.
//
// Which referenced paths must exist when the config is loaded:
//   must exist: `trust` (global, per watch entry, per endpoint) files or directories,
//     credentials (endpoints client_cert/client_key, mqtt ca/cert/key/password_file,
//     issuers pki_dir/passphrase_file).
//   may be missing: watch paths and watch keys (the watcher picks them up when they appear),
//     endpoints expect_file, agent state_dir (the agent creates it), managed cert/key/chain
//     (the renewal creates them), reload pid_file (the server may be down).
//
// Thread-safety: pure functions; they only read the filesystem.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "config/config.h"

namespace certwatch::config {

struct LoadOptions {
  // Off only to validate a config meant for another machine (the shipped example): every
  // "does not exist" check is skipped, everything else is still checked.
  bool check_files = true;
};

// Loads `path`. On failure Error.message holds every problem, one "FILE:LINE:COL: message"
// per line (FILE as given), in file order.
certwatch::Result<Config> load_config(const std::filesystem::path& path, LoadOptions options = {});

// Same for text already in memory; `name` is used in messages and relative paths are resolved
// against `base_dir` (default: the current directory).
certwatch::Result<Config> load_config_string(std::string_view text, std::string_view name,
                                             const std::filesystem::path& base_dir = {},
                                             LoadOptions options = {});

// One problem, structured (for --json). `line`/`column` are 1-based; 0 when the problem is
// about the file as a whole (e.g. it cannot be read).
struct Problem {
  std::string file;
  int line = 0;
  int column = 0;
  std::string message;
  std::string to_string() const;  // "FILE:LINE:COL: message"
  bool operator==(const Problem&) const = default;
};

// The detailed form behind load_config: either a config or at least one problem.
struct LoadReport {
  std::optional<Config> config;  // set exactly when problems is empty
  std::vector<Problem> problems;
};
LoadReport check_config(const std::filesystem::path& path, LoadOptions options = {});

}  // namespace certwatch::config
