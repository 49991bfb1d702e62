// Command-line parsing shared by the commands that use Boost.Program_options: args[0] is the
// command path ("certwatch check"), the rest are parsed into `vm`. Program_options reports by
// throwing; that is converted here, at its edge, into usage_error().
#pragma once

#include <boost/program_options.hpp>
#include <optional>
#include <string>
#include <vector>

namespace certwatch {

// nullopt: go on with `vm`. Otherwise the command is over and this is its exit code: after
// --help (printed on stdout, 0) or a usage error (printed by usage_error, 3).
std::optional<int> parse_command_line(
    const std::vector<std::string>& args, const boost::program_options::options_description& desc,
    const boost::program_options::positional_options_description& pos,
    boost::program_options::variables_map& vm);

}  // namespace certwatch
