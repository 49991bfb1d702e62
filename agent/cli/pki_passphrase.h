// The passphrase options of `certwatch pki` (--passphrase-file / --passphrase-credential and
// their --parent- twins): passphrases come only from a file or a systemd credential, never
// from argv. The file's rule (first line, its line ending stripped) is
// pki/load/passphrase_file.h's, the one the agent's issuers use too.
#pragma once

#include <boost/program_options.hpp>
#include <optional>
#include <string>

#include "base/result.h"
#include "pki/x509/keygen.h"

namespace certwatch {

// A usage error in the passphrase options with `prefix`, or nullopt.
std::optional<std::string> passphrase_usage(const boost::program_options::variables_map& vm,
                                            const std::string& prefix);

// A passphrase named by --X-passphrase-file / --X-passphrase-credential; with neither, the
// systemd credential `fallback` if it exists (so a unit's LoadCredential= just works). The
// caller checked passphrase_usage() first.
certwatch::Result<std::optional<pki::Passphrase>> resolve_passphrase(
    const boost::program_options::variables_map& vm, const std::string& prefix,
    const std::string& fallback);

// Adds --<prefix>passphrase-file and --<prefix>passphrase-credential; `what` ends their help.
void add_passphrase_options(boost::program_options::options_description& d,
                            const std::string& prefix, const std::string& what);

}  // namespace certwatch
