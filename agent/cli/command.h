// Subcommand registry. Each subcommand lives in its own file and registers itself with a
// static CommandRegistration; main.cpp only dispatches. Commands return their exit code and
// never let an exception escape (main converts a stray one to exit 3).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace certwatch {

// argv[0] of a command's args is the command path, e.g. "certwatch check".
using CommandFn = std::function<int(const std::vector<std::string>& args)>;

struct Command {
  std::string name;     // "check", "pki", "agent", "config", ...
  std::string summary;  // one line for `certwatch --help`
  CommandFn run;
};

std::vector<Command>& command_registry();

struct CommandRegistration {
  CommandRegistration(std::string name, std::string summary, CommandFn fn) {
    command_registry().push_back({std::move(name), std::move(summary), std::move(fn)});
  }
};

// Every command reports a usage error the same way: "COMMAND: WHAT (see 'COMMAND --help')"
// on stderr, and exit code kExitUsage (returned, for `return usage_error(...)`).
int usage_error(std::string_view command, std::string_view what);

// Exit codes shared by every command (Nagios convention for check-like output).
inline constexpr int kExitOk = 0;
inline constexpr int kExitWarning = 1;
inline constexpr int kExitCritical = 2;
inline constexpr int kExitUsage = 3;  // usage or input errors

}  // namespace certwatch
