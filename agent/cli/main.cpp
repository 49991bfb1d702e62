// certwatch: one binary, subcommands registered in agent/command.h.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "agent/cli/command.h"

namespace {

void print_help(std::FILE* out) {
  auto cmds = certwatch::command_registry();
  std::sort(cmds.begin(), cmds.end(), [](auto& a, auto& b) { return a.name < b.name; });
  std::fprintf(out,
               "certwatch %s - certificate lifecycle agent\n\n"
               "Usage: certwatch COMMAND [OPTIONS]...\n\nCommands:\n",
               CERTWATCH_VERSION);
  for (const auto& c : cmds) std::fprintf(out, "  %-8s %s\n", c.name.c_str(), c.summary.c_str());
  std::fprintf(out,
               "\nOptions:\n  -h, --help     show this help\n  --version      show the version\n"
               "\n'certwatch COMMAND --help' describes each command.\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  if (args.size() < 2) {
    print_help(stderr);
    return certwatch::kExitUsage;
  }
  const std::string& name = args[1];
  if (name == "-h" || name == "--help" || name == "help") {
    print_help(stdout);
    return 0;
  }
  if (name == "--version" || name == "version") {
    std::printf("certwatch %s\n", CERTWATCH_VERSION);
    return 0;
  }
  for (const auto& c : certwatch::command_registry()) {
    if (c.name != name) continue;
    std::vector<std::string> sub{"certwatch " + name};
    sub.insert(sub.end(), args.begin() + 2, args.end());
    try {
      return c.run(sub);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "certwatch %s: %s\n", name.c_str(), e.what());
      return certwatch::kExitUsage;
    }
  }
  std::fprintf(stderr, "certwatch: unknown command '%s' (see 'certwatch --help')\n", name.c_str());
  return certwatch::kExitUsage;
}
