// The passphrase and PIN options of `certwatch pki` (--passphrase-file /
// --passphrase-credential, --pin-file / --pin-credential, and their --parent- twins): passphrases
// come only from a file or a systemd credential, never from argv. The file's rule (first line, its
// line ending stripped) is pki/load/passphrase_file.h's, the one the agent's issuers use too.
#pragma once

#include <boost/program_options.hpp>
#include <optional>
#include <string>

#include "base/result.h"
#include "pki/issue/issuer.h"
#include "pki/x509/keygen.h"

namespace certwatch {

// A usage error in the passphrase and PIN options with `prefix`, or nullopt.
std::optional<std::string> passphrase_usage(const boost::program_options::variables_map& vm,
                                            const std::string& prefix);

// A passphrase named by --X-passphrase-file / --X-passphrase-credential; with neither, the
// systemd credential `fallback` if it exists (so a unit's LoadCredential= just works). The
// caller checked passphrase_usage() first.
certwatch::Result<std::optional<pki::Passphrase>> resolve_passphrase(
    const boost::program_options::variables_map& vm, const std::string& prefix,
    const std::string& fallback);

// The same for --X-pin-file / --X-pin-credential: the user PIN of a PKCS#11 token.
certwatch::Result<std::optional<pki::Passphrase>> resolve_pin(
    const boost::program_options::variables_map& vm, const std::string& prefix,
    const std::string& fallback);

// What opens CA `ca`'s existing key: the PIN options when given, else the passphrase options,
// else the credential <ca>.passphrase, else <ca>.pin (pki/issue/issuer.h: a secret is the key
// file's passphrase or its token's PIN).
certwatch::Result<std::optional<pki::Passphrase>> resolve_ca_secret(
    const boost::program_options::variables_map& vm, const std::string& prefix,
    const std::string& ca);

// A new CA key's place from --key-uri (pki/issue/issuer.h NewKey; the PIN is the caller's to
// resolve); an error here is a usage error.
certwatch::Result<pki::NewKey> new_key_option(const boost::program_options::variables_map& vm);

// Adds --<prefix>pin-file and --<prefix>pin-credential; `what` ends their help.
void add_pin_options(boost::program_options::options_description& d, const std::string& prefix,
                     const std::string& what);

// Adds --<prefix>passphrase-file and --<prefix>passphrase-credential; `what` ends their help.
void add_passphrase_options(boost::program_options::options_description& d,
                            const std::string& prefix, const std::string& what);

}  // namespace certwatch
