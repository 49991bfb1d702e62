#include "agent/cli/options.h"

#include <iostream>

#include "agent/cli/command.h"
#include "base/idna.h"

namespace certwatch {

std::optional<int> parse_command_line(
    const std::vector<std::string>& args, const boost::program_options::options_description& desc,
    const boost::program_options::positional_options_description& pos,
    boost::program_options::variables_map& vm) {
  namespace po = boost::program_options;
  try {
    std::vector<std::string> rest(args.begin() + 1, args.end());
    po::store(po::command_line_parser(rest).options(desc).positional(pos).run(), vm);
    if (vm.count("help") != 0) {
      std::cout << desc << "\n";
      return kExitOk;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    return usage_error(args[0], e.what());
  }
  return std::nullopt;
}

std::optional<int> host_option_to_ascii(std::string_view command, std::string_view flag,
                                        std::string& name) {
  if (name.empty()) return std::nullopt;
  auto ascii = host_to_ascii(name);
  if (!ascii) return usage_error(command, std::string(flag) + ": " + ascii.error().message);
  name = std::move(*ascii);
  return std::nullopt;
}

}  // namespace certwatch
