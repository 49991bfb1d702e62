#include "agent/command.h"

namespace certwatch {

std::vector<Command>& command_registry() {
  static std::vector<Command> registry;  // function-local: safe from static init order
  return registry;
}

}  // namespace certwatch
