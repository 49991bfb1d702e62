#include "agent/cli/command.h"

#include <cstdio>
#include <string>

namespace certwatch {

std::vector<Command>& command_registry() {
  static std::vector<Command> registry;  // function-local: safe from static init order
  return registry;
}

int usage_error(std::string_view command, std::string_view what) {
  const std::string cmd(command);
  std::fprintf(stderr, "%s: %.*s (see '%s --help')\n", cmd.c_str(), static_cast<int>(what.size()),
               what.data(), cmd.c_str());
  return kExitUsage;
}

}  // namespace certwatch
