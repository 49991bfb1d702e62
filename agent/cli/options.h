// Command-line parsing shared by the commands that use Boost.Program_options: args[0] is the
// command path ("certwatch check"), the rest are parsed into `vm`. Program_options reports by
// throwing; that is converted here, at its edge, into usage_error().
#pragma once

#include <boost/program_options.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace certwatch {

// nullopt: go on with `vm`. Otherwise the command is over and this is its exit code: after
// --help (printed on stdout, 0) or a usage error (printed by usage_error, 3).
std::optional<int> parse_command_line(
    const std::vector<std::string>& args, const boost::program_options::options_description& desc,
    const boost::program_options::positional_options_description& pos,
    boost::program_options::variables_map& vm);

// Converts a host name option (--host, --sni) to A-labels in place (base/idna.h): certificates
// and SNI carry them. nullopt: go on (an empty option stays empty). Otherwise the usage error's
// exit code, the message naming `flag`.
std::optional<int> host_option_to_ascii(std::string_view command, std::string_view flag,
                                        std::string& name);

}  // namespace certwatch
