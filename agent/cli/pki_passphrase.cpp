#include "agent/cli/pki_passphrase.h"

#include <cstdlib>
#include <filesystem>

#include "pki/load/passphrase_file.h"

namespace certwatch {
namespace po = boost::program_options;
namespace fs = std::filesystem;
namespace {

// A passphrase file by the rule of pki/load/passphrase_file.h.
certwatch::Result<pki::Passphrase> passphrase_from(const fs::path& p, const std::string& what) {
  auto pass = pki::read_passphrase_file(p);
  if (!pass && pass.error().kind == certwatch::ErrorKind::invalid_input)
    return certwatch::make_error(what + ": " + p.string() + " holds an empty passphrase");
  if (!pass) return certwatch::make_error(what + ": cannot read " + pass.error().message);
  return pass;
}

fs::path credential_path(const std::string& name) {
  const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
  return fs::path(dir != nullptr ? dir : "") / name;
}

}  // namespace

std::optional<std::string> passphrase_usage(const po::variables_map& vm,
                                            const std::string& prefix) {
  for (const char* kind : {"passphrase", "pin"}) {
    const std::string file_opt = prefix + kind + "-file";
    const std::string cred_opt = prefix + kind + "-credential";
    if (vm.count(file_opt) && vm.count(cred_opt))
      return "give --" + file_opt + " or --" + cred_opt + ", not both";
  }
  const bool pass =
      vm.count(prefix + "passphrase-file") || vm.count(prefix + "passphrase-credential");
  const bool pin = vm.count(prefix + "pin-file") || vm.count(prefix + "pin-credential");
  if (pass && pin)
    return "give the key's passphrase (--" + prefix + "passphrase-*) or its token's PIN (--" +
           prefix + "pin-*), not both";
  return std::nullopt;
}

namespace {

// The secret named by --<prefix><kind>-file / --<prefix><kind>-credential; with neither, the
// systemd credential `fallback` if it exists.
certwatch::Result<std::optional<pki::Passphrase>> resolve_kind(const po::variables_map& vm,
                                                               const std::string& prefix,
                                                               const std::string& kind,
                                                               const std::string& fallback) {
  const std::string file_opt = prefix + kind + "-file";
  const std::string cred_opt = prefix + kind + "-credential";
  if (vm.count(file_opt)) {
    auto p = passphrase_from(vm[file_opt].as<std::string>(), "--" + file_opt);
    if (!p) return p.error();
    return std::optional<pki::Passphrase>(std::move(*p));
  }
  if (vm.count(cred_opt) || !fallback.empty()) {
    const std::string name = vm.count(cred_opt) ? vm[cred_opt].as<std::string>() : fallback;
    if (std::getenv("CREDENTIALS_DIRECTORY") == nullptr) {
      if (vm.count(cred_opt))
        return certwatch::make_error("--" + cred_opt + ": $CREDENTIALS_DIRECTORY is not set");
      return std::optional<pki::Passphrase>();
    }
    const auto path = credential_path(name);
    std::error_code ec;
    if (!vm.count(cred_opt) && !fs::exists(path, ec)) return std::optional<pki::Passphrase>();
    auto p = passphrase_from(path, "credential " + name);
    if (!p) return p.error();
    return std::optional<pki::Passphrase>(std::move(*p));
  }
  return std::optional<pki::Passphrase>();
}

}  // namespace

certwatch::Result<std::optional<pki::Passphrase>> resolve_passphrase(const po::variables_map& vm,
                                                                     const std::string& prefix,
                                                                     const std::string& fallback) {
  return resolve_kind(vm, prefix, "passphrase", fallback);
}

certwatch::Result<std::optional<pki::Passphrase>> resolve_pin(const po::variables_map& vm,
                                                              const std::string& prefix,
                                                              const std::string& fallback) {
  return resolve_kind(vm, prefix, "pin", fallback);
}

certwatch::Result<std::optional<pki::Passphrase>> resolve_ca_secret(const po::variables_map& vm,
                                                                    const std::string& prefix,
                                                                    const std::string& ca) {
  if (vm.count(prefix + "pin-file") || vm.count(prefix + "pin-credential"))
    return resolve_pin(vm, prefix, "");
  auto pass = resolve_passphrase(vm, prefix, ca + ".passphrase");
  if (!pass || *pass) return pass;
  return resolve_pin(vm, prefix, ca + ".pin");
}

// A new CA key's place (pki/issue/issuer.h NewKey): --key-uri with the PIN options, or in memory.
// Usage errors are the caller's exit 3.
certwatch::Result<pki::NewKey> new_key_option(const po::variables_map& vm) {
  pki::NewKey k;
  const bool pin = vm.count("pin-file") || vm.count("pin-credential");
  if (!vm.count("key-uri")) {
    if (pin) return certwatch::make_error("--pin-file and --pin-credential go with --key-uri");
    return k;
  }
  if (vm.count("passphrase-file") || vm.count("passphrase-credential"))
    return certwatch::make_error(
        "--key-uri: a key in a token has no passphrase (its user PIN logs in: --pin-file F)");
  auto uri = pki::parse_pkcs11_uri(vm["key-uri"].as<std::string>());
  if (!uri) return certwatch::make_error("--key-uri: " + uri.error().message);
  k.token = std::move(*uri);
  k.key_type_given = vm.count("key-type") && !vm["key-type"].defaulted();
  return k;
}

void add_pin_options(po::options_description& d, const std::string& prefix,
                     const std::string& what) {
  d.add_options()((prefix + "pin-file").c_str(), po::value<std::string>()->value_name("F"),
                  ("file whose first line is the user PIN " + what).c_str())(
      (prefix + "pin-credential").c_str(), po::value<std::string>()->value_name("NAME"),
      ("systemd credential ($CREDENTIALS_DIRECTORY/NAME) holding the user PIN " + what).c_str());
}

void add_passphrase_options(po::options_description& d, const std::string& prefix,
                            const std::string& what) {
  d.add_options()((prefix + "passphrase-file").c_str(), po::value<std::string>()->value_name("F"),
                  ("file whose first line is the passphrase " + what).c_str())(
      (prefix + "passphrase-credential").c_str(), po::value<std::string>()->value_name("NAME"),
      ("systemd credential ($CREDENTIALS_DIRECTORY/NAME) holding the passphrase " + what).c_str());
}

}  // namespace certwatch
