// `certwatch pki init|ca|issue|import|bundle|list|revoke|crl`: the built-in issuer on the
// command line (pki/issue/issuer.h does the work). Passphrases and token PINs come only from a
// file (--passphrase-file, --pin-file) or a systemd credential ($CREDENTIALS_DIRECTORY/NAME),
// never from argv, where every user of the machine could read them. Exit status: 0 done, 1 refused
// or failed (nothing written), 3 usage error. Over 400 lines: eight sub-commands of one group, each
// a short function over the shared option parsing and report (the passphrase, PIN and --key-uri
// options live in pki_passphrase.h).
#include <utility>

#include <boost/program_options.hpp>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "agent/cli/command.h"
#include "agent/cli/pki_passphrase.h"
#include "base/duration.h"
#include "base/json.h"
#include "pki/issue/crl.h"
#include "pki/issue/issuer.h"
#include "pki/load/load.h"
#include "pki/load/read_file.h"

namespace certwatch {
namespace {

namespace po = boost::program_options;
namespace fs = std::filesystem;

constexpr int kExitFailed = 1;

constexpr const char* kPkiUsage =
    "Usage: certwatch pki COMMAND --dir D [OPTIONS]...\n"
    "\n"
    "The built-in issuer. D is laid out like seed 001: D/<ca>/private/<ca>.key.pem,\n"
    "D/<ca>/certs/<ca>.cert.pem (the root is root-ca), D/ca-bundle.pem, D/ledger.sqlite.\n"
    "\n"
    "Commands:\n"
    "  init     create the root CA (root-ca)\n"
    "  ca       create an intermediate CA under the root or another intermediate\n"
    "  issue    issue a server or client certificate (new key, or from a CSR)\n"
    "  import   adopt an existing CA certificate and key (made with openssl)\n"
    "  bundle   write the CA bundle for devices (root only, or with intermediates)\n"
    "  list     show the certificates in the ledger\n"
    "  revoke   mark a certificate revoked in the ledger\n"
    "  crl      write a CRL signed by a CA\n"
    "\n"
    "'certwatch pki COMMAND --help' describes each command. Passphrases are read from\n"
    "--passphrase-file F or a systemd credential (--passphrase-credential NAME, read from\n"
    "$CREDENTIALS_DIRECTORY/NAME; <ca>.passphrase is tried when neither is given), never\n"
    "from the command line. A CA's key may instead live in a PKCS#11 token (init, ca and\n"
    "import take --key-uri pkcs11:...); its user PIN comes from --pin-file F or\n"
    "--pin-credential NAME (<ca>.pin is tried), or the URI's pin-source=file:F.\n"
    "\n"
    "Exit status: 0 done, 1 refused or failed (nothing written), 3 usage error.\n";

certwatch::Result<std::string> read_file(const fs::path& p, const std::string& what,
                                         std::uintmax_t limit = pki::kMaxInputBytes) {
  // Non-blocking, regular files only, capped (pki/load/read_file.h): a FIFO or /dev/zero is
  // refused.
  auto data = pki::read_regular_file(p, limit);
  if (!data) return certwatch::make_error(what + ": cannot read " + data.error().message);
  return data;
}

// A usage error's text, for the command's usage_error().
using Usage = std::string;

certwatch::Result<int64_t> duration_option(const po::variables_map& vm, const std::string& name) {
  auto d = certwatch::parse_duration(vm[name].as<std::string>());
  if (!d)
    return certwatch::make_error("--" + name + ": " + d.error().message,
                                 certwatch::ErrorKind::invalid_input);
  return *d;
}

certwatch::Result<pki::KeyType> key_type_option(const po::variables_map& vm) {
  auto t = pki::parse_key_type(vm["key-type"].as<std::string>());
  if (!t)
    return certwatch::make_error("--key-type: " + t.error().message,
                                 certwatch::ErrorKind::invalid_input);
  return *t;
}

// The parsed options of a sub-command, or how it already ended: after --help (exit 0) or a
// usage error it printed (exit 3).
struct Parsed {
  po::variables_map vm;
  std::optional<int> exit;
};

// Parses `args` (after the sub-command name `cmd`). Boost.Program_options reports by throwing;
// that is converted here, at its edge.
Parsed parse(const std::string& cmd, const std::vector<std::string>& args,
             po::options_description& d, const std::string& usage, const std::string& about) {
  d.add_options()("help,h", "show this help");
  Parsed p;
  try {
    po::store(po::command_line_parser(args).options(d).run(), p.vm);
    if (p.vm.count("help")) {
      std::ostringstream ss;
      ss << usage << "\n\n" << about << "\n\n" << d;
      std::fputs(ss.str().c_str(), stdout);
      p.exit = kExitOk;
      return p;
    }
    po::notify(p.vm);
  } catch (const po::error& e) {
    p.exit = usage_error("certwatch pki " + cmd, e.what());
    return p;
  }
  if (!p.vm.count("dir")) p.exit = usage_error("certwatch pki " + cmd, "--dir is required");
  return p;
}

// The usage checks every command shares: options that exclude each other, typed values.
std::optional<Usage> common_usage(const po::variables_map& vm) {
  for (const char* prefix : {"", "parent-"})
    if (auto u = passphrase_usage(vm, prefix)) return u;
  for (const char* name : {"validity", "next-update"})
    if (vm.count(name))
      if (auto d = duration_option(vm, name); !d) return d.error().message;
  if (vm.count("key-type"))
    if (auto t = key_type_option(vm); !t) return t.error().message;
  return std::nullopt;
}

// parse() and common_usage() together: nullopt means go on with p.vm.
std::optional<int> start(const std::string& cmd, Parsed& p) {
  if (p.exit) return p.exit;
  if (auto u = common_usage(p.vm)) return usage_error("certwatch pki " + cmd, *u);
  return std::nullopt;
}

// pki's messages name request fields, not flags (base/result.h): the flags go back in here.
std::string with_flags(const certwatch::Error& e) {
  static const std::vector<std::pair<std::string, std::string>> kFlags = {
      {"subject", "--subject"},
      {"CSR", "--csr"},
      {"name", "--name"},
      {"certificate", "--cert"},
      {"key", "--key"},
      {"key URI", "--key-uri"},
      {"chain", "--chain"},
      {"path length", "--path-len"},
      {"next update", "--next-update"},
  };
  std::string text = e.message;
  for (const auto& [input, flag] : kFlags)
    if (e.input == input && text.starts_with(input)) text = flag + text.substr(input.size());
  if (e.kind == certwatch::ErrorKind::exists) text += " (use --force to replace it)";
  if (e.fix == "validity") text += " (shorten --validity)";
  if (e.fix == "name") text += " with --name (e.g. --name server-ca)";
  if (e.fix == "serial") text += "; give --serial (and --ca)";
  if (e.fix == "san") text += " (give --san DNS:name or --san IP:address)";
  if (e.fix == "passphrase") text += " (--passphrase-file F or --passphrase-credential NAME)";
  if (e.fix == "pin") text += " (--pin-file F or --pin-credential NAME)";
  return text;
}

int fail(const std::string& what, const certwatch::Error& e) {
  std::fprintf(stderr, "certwatch pki %s: %s\n", what.c_str(), with_flags(e).c_str());
  return kExitFailed;
}

int report(const pki::Issued& issued, bool json) {
  for (const auto& w : issued.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  if (json) {
    certwatch::JsonWriter w;
    const auto v = issued.cert.validity();
    w.begin_object()
        .key("subject")
        .value(issued.cert.subject())
        .key("serial")
        .value(issued.cert.serial_hex());
    w.key("sha256").value(issued.cert.sha256_hex()).key("not_before").value(v.not_before);
    w.key("not_after").value(v.not_after).key("written").begin_array();
    for (const auto& p : issued.written) w.value(p.string());
    w.end_array().key("warnings").begin_array();
    for (const auto& s : issued.warnings) w.value(s);
    w.end_array().end_object();
    std::printf("%s\n", w.str().c_str());
    return kExitOk;
  }
  std::printf("issued %s serial %s valid until %s\n", issued.cert.subject().c_str(),
              issued.cert.serial_hex().c_str(),
              certwatch::format_iso8601(issued.cert.validity().not_after).c_str());
  for (const auto& p : issued.written) std::printf("wrote %s\n", p.c_str());
  return kExitOk;
}

po::options_description common(const char* title) {
  po::options_description d(title);
  d.add_options()("dir", po::value<std::string>()->value_name("D"), "the PKI directory")(
      "json", "print the result as JSON");
  return d;
}

int cmd_init(const std::vector<std::string>& args) {
  auto d = common("Options");
  d.add_options()("subject", po::value<std::string>()->value_name("DN")->required(),
                  "root subject, e.g. /C=DE/O=Lab/CN=Lab Root CA")(
      "key-type", po::value<std::string>()->default_value("ec-p256"),
      "ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096, ed25519")(
      "validity", po::value<std::string>()->default_value("3650d"), "lifetime")(
      "force", "replace an existing root CA")(
      "key-uri", po::value<std::string>()->value_name("URI"),
      "keep the root key in a PKCS#11 token (RFC 7512 URI with ?module-path=): the key it "
      "names is used, or generated there (RSA; rsa-3072 unless --key-type says)");
  add_passphrase_options(d, "", "that encrypts the root key (AES-256)");
  add_pin_options(d, "", "of the token (with --key-uri)");
  auto parsed =
      parse("init", args, d, "Usage: certwatch pki init --dir D --subject DN [OPTIONS]",
            "Creates the self-signed root CA in D/root-ca and the device bundle D/ca-bundle.pem.");
  if (auto done = start("init", parsed)) return *done;
  const po::variables_map* vm = &parsed.vm;
  auto new_key = new_key_option(*vm);
  if (!new_key) return usage_error("certwatch pki init", new_key.error().message);
  pki::Issuer issuer((*vm)["dir"].as<std::string>());
  pki::InitRequest rq;
  rq.subject = (*vm)["subject"].as<std::string>();
  rq.key_type = *key_type_option(*vm);
  rq.validity_seconds = *duration_option(*vm, "validity");
  rq.force = vm->count("force") > 0;
  rq.now = std::time(nullptr);
  auto pass = resolve_passphrase(*vm, "", "");
  if (!pass) return fail("init", pass.error());
  rq.passphrase = std::move(*pass);
  rq.new_key = std::move(*new_key);
  if (rq.new_key.token) {
    auto pin = resolve_pin(*vm, "", "");
    if (!pin) return fail("init", pin.error());
    rq.new_key.pin = std::move(*pin);
  }
  auto r = issuer.init(rq);
  if (!r) return fail("init", r.error());
  return report(*r, vm->count("json") > 0);
}

pki::BeyondIssuer beyond(const po::variables_map& vm) {
  // An explicit --validity beyond the issuer is refused; the default is clamped with a warning.
  return vm["validity"].defaulted() || vm.count("clamp-validity") ? pki::BeyondIssuer::clamp
                                                                  : pki::BeyondIssuer::refuse;
}

int cmd_ca(const std::vector<std::string>& args) {
  auto d = common("Options");
  d.add_options()("name", po::value<std::string>()->required(), "CA name (its directory under D)")(
      "subject", po::value<std::string>()->value_name("DN")->required(), "CA subject")(
      "parent", po::value<std::string>()->default_value(pki::kRootCaName), "the signing CA")(
      "path-len", po::value<int>()->default_value(0), "pathLenConstraint (0: signs leaves only)")(
      "key-type", po::value<std::string>()->default_value("ec-p256"), "key type")(
      "validity", po::value<std::string>()->default_value("1825d"), "lifetime")(
      "clamp-validity", "clamp an explicit --validity to the parent instead of refusing")(
      "force", "replace an existing CA of that name")(
      "key-uri", po::value<std::string>()->value_name("URI"),
      "keep the new CA's key in a PKCS#11 token (as for init)");
  add_passphrase_options(d, "", "that encrypts the new CA key");
  add_pin_options(d, "", "of the token that holds the new CA's key (with --key-uri)");
  add_passphrase_options(d, "parent-", "of the parent CA's key");
  add_pin_options(d, "parent-", "of the token that holds the parent CA's key");
  auto parsed =
      parse("ca", args, d, "Usage: certwatch pki ca --dir D --name NAME --subject DN [OPTIONS]",
            "Creates an intermediate CA (CA:TRUE with pathlen, keyCertSign + cRLSign, SKI, AKI)\n"
            "signed by --parent; writes D/NAME/private/NAME.key.pem (0400) and D/NAME/certs/.");
  if (auto done = start("ca", parsed)) return *done;
  const po::variables_map* vm = &parsed.vm;
  auto new_key = new_key_option(*vm);
  if (!new_key) return usage_error("certwatch pki ca", new_key.error().message);
  pki::Issuer issuer((*vm)["dir"].as<std::string>());
  pki::CaRequest rq;
  rq.name = (*vm)["name"].as<std::string>();
  rq.subject = (*vm)["subject"].as<std::string>();
  rq.parent = (*vm)["parent"].as<std::string>();
  rq.path_len = (*vm)["path-len"].as<int>();
  rq.key_type = *key_type_option(*vm);
  rq.validity_seconds = *duration_option(*vm, "validity");
  rq.beyond_issuer = beyond(*vm);
  rq.force = vm->count("force") > 0;
  rq.now = std::time(nullptr);
  auto pass = resolve_passphrase(*vm, "", "");
  if (!pass) return fail("ca", pass.error());
  rq.passphrase = std::move(*pass);
  rq.new_key = std::move(*new_key);
  if (rq.new_key.token) {
    auto pin = resolve_pin(*vm, "", "");
    if (!pin) return fail("ca", pin.error());
    rq.new_key.pin = std::move(*pin);
  }
  auto parent_pass = resolve_ca_secret(*vm, "parent-", rq.parent);
  if (!parent_pass) return fail("ca", parent_pass.error());
  rq.parent_passphrase = std::move(*parent_pass);
  auto r = issuer.create_ca(rq);
  if (!r) return fail("ca", r.error());
  return report(*r, vm->count("json") > 0);
}

int cmd_issue(const std::vector<std::string>& args) {
  auto d = common("Options");
  d.add_options()("ca", po::value<std::string>()->required(), "the issuing CA")(
      "profile", po::value<std::string>()->required(), "server or client")(
      "name", po::value<std::string>()->required(),
      "output file stem: OUT/NAME.{key,cert,chain}.pem")("subject",
                                                         po::value<std::string>()->value_name("DN"),
                                                         "subject (default with --csr: the CSR's)")(
      "san", po::value<std::vector<std::string>>()->composing(),
      "DNS:name or IP:address (repeatable)")(
      "csr", po::value<std::string>()->value_name("F"),
      "sign this CSR (its SANs are validated; nothing else is taken)")(
      "key-type", po::value<std::string>()->default_value("ec-p256"),
      "key type when no CSR is given")("validity", po::value<std::string>()->default_value("365d"),
                                       "lifetime")(
      "clamp-validity", "clamp an explicit --validity to the CA instead of refusing")(
      "out", po::value<std::string>()->value_name("DIR"), "output directory (default D/issued)")(
      "force", "replace existing output files");
  add_passphrase_options(d, "", "of the CA's key");
  add_pin_options(d, "", "of the token that holds the CA's key");
  auto parsed =
      parse("issue", args, d,
            "Usage: certwatch pki issue --dir D --ca NAME --profile server|client --name NAME\n"
            "                           --subject DN [--san DNS:x --san IP:y ...] [OPTIONS]",
            "Issues a leaf certificate and writes OUT/NAME.key.pem (0600), OUT/NAME.cert.pem and\n"
            "OUT/NAME.chain.pem (leaf first, then intermediates, no root).");
  if (auto done = start("issue", parsed)) return *done;
  const po::variables_map* vm = &parsed.vm;
  pki::Issuer issuer((*vm)["dir"].as<std::string>());
  pki::IssueRequest rq;
  rq.ca = (*vm)["ca"].as<std::string>();
  auto profile = pki::parse_profile((*vm)["profile"].as<std::string>());
  if (!profile || pki::is_ca_profile(*profile))
    return usage_error("certwatch pki issue", "--profile: server or client");
  rq.profile = *profile;
  rq.name = (*vm)["name"].as<std::string>();
  if (vm->count("subject")) rq.subject = (*vm)["subject"].as<std::string>();
  if (vm->count("san")) rq.sans = (*vm)["san"].as<std::vector<std::string>>();
  if (vm->count("csr")) {
    auto csr = read_file((*vm)["csr"].as<std::string>(), "--csr");
    if (!csr) return fail("issue", csr.error());
    rq.csr = std::move(*csr);
  }
  rq.key_type = *key_type_option(*vm);
  rq.validity_seconds = *duration_option(*vm, "validity");
  rq.beyond_issuer = beyond(*vm);
  if (vm->count("out")) rq.out_dir = (*vm)["out"].as<std::string>();
  rq.force = vm->count("force") > 0;
  rq.now = std::time(nullptr);
  auto pass = resolve_ca_secret(*vm, "", rq.ca);
  if (!pass) return fail("issue", pass.error());
  rq.ca_passphrase = std::move(*pass);
  auto r = issuer.issue(rq);
  if (!r) return fail("issue", r.error());
  return report(*r, vm->count("json") > 0);
}

int cmd_import(const std::vector<std::string>& args) {
  auto d = common("Options");
  d.add_options()("cert", po::value<std::string>()->value_name("F")->required(),
                  "the CA certificate (PEM)")("key", po::value<std::string>()->value_name("F"),
                                              "its private key (PEM, encrypted or not)")(
      "key-uri", po::value<std::string>()->value_name("URI"),
      "instead of --key: its key is in this PKCS#11 token (RFC 7512 URI)")(
      "chain", po::value<std::string>()->value_name("F"),
      "its parent certificates (intermediates and/or root)")(
      "name", po::value<std::string>(), "CA name (default root-ca for a self-signed CA)")(
      "force", "replace an existing CA of that name");
  add_passphrase_options(d, "", "of the key (the stored key stays encrypted with it)");
  add_pin_options(d, "", "of the token (with --key-uri)");
  auto parsed =
      parse("import", args, d,
            "Usage: certwatch pki import --dir D --cert F --key F|--key-uri URI [--chain F]\n"
            "                            [--name NAME] [OPTIONS]",
            "Adopts a CA made with openssl (e.g. by the seeds' commands) so that it can issue\n"
            "without re-keying devices. The key must match the certificate, which must be a CA.");
  if (auto done = start("import", parsed)) return *done;
  const po::variables_map* vm = &parsed.vm;
  pki::Issuer issuer((*vm)["dir"].as<std::string>());
  pki::ImportRequest rq;
  auto cert = read_file((*vm)["cert"].as<std::string>(), "--cert");
  if (!cert) return fail("import", cert.error());
  rq.cert_pem = std::move(*cert);
  if (vm->count("key") == vm->count("key-uri"))
    return usage_error("certwatch pki import", "give --key F or --key-uri URI (one of them)");
  if (vm->count("key-uri")) {
    auto uri = pki::parse_pkcs11_uri((*vm)["key-uri"].as<std::string>());
    if (!uri) return usage_error("certwatch pki import", "--key-uri: " + uri.error().message);
    rq.key_uri = std::move(*uri);
    auto pin = resolve_pin(*vm, "", "");
    if (!pin) return fail("import", pin.error());
    rq.pin = std::move(*pin);
  } else {
    auto key = read_file((*vm)["key"].as<std::string>(), "--key");
    if (!key) return fail("import", key.error());
    rq.key_pem = std::move(*key);
  }
  if (vm->count("chain")) {
    auto chain = read_file((*vm)["chain"].as<std::string>(), "--chain");
    if (!chain) return fail("import", chain.error());
    rq.chain_pem = std::move(*chain);
  }
  if (vm->count("name")) rq.name = (*vm)["name"].as<std::string>();
  rq.force = vm->count("force") > 0;
  auto pass = resolve_passphrase(*vm, "", "");
  if (!pass) return fail("import", pass.error());
  rq.passphrase = std::move(*pass);
  auto r = issuer.import_ca(rq);
  pki::Passphrase scrub_rq(std::move(rq.key_pem));
  if (!r) return fail("import", r.error());
  for (const auto& w : r->warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  std::printf("imported %s\n", r->cert.subject().c_str());
  for (const auto& p : r->written) std::printf("wrote %s\n", p.c_str());
  return kExitOk;
}

int cmd_bundle(const std::vector<std::string>& args) {
  auto d = common("Options");
  d.add_options()("with-intermediates",
                  "put the intermediate CAs before the root (seed 001 6.1: "
                  "stricter pinning, but rotating an intermediate needs a new bundle)")(
      "out", po::value<std::string>()->value_name("F"), "output file (default D/ca-bundle.pem)");
  auto parsed = parse(
      "bundle", args, d, "Usage: certwatch pki bundle --dir D [--with-intermediates] [--out F]",
      "Writes the CA bundle that devices pin: the root only by default (seed 001 6).");
  if (auto done = start("bundle", parsed)) return *done;
  const po::variables_map* vm = &parsed.vm;
  pki::Issuer issuer((*vm)["dir"].as<std::string>());
  std::optional<fs::path> out;
  if (vm->count("out")) out = (*vm)["out"].as<std::string>();
  auto r = issuer.write_bundle(vm->count("with-intermediates") > 0, out);
  if (!r) return fail("bundle", r.error());
  std::printf("wrote %s\n", r->c_str());
  return kExitOk;
}

int cmd_list(const std::vector<std::string>& args) {
  auto d = common("Options");
  d.add_options()("ca", po::value<std::string>(), "only certificates issued by this CA");
  auto parsed = parse("list", args, d, "Usage: certwatch pki list --dir D [--ca NAME] [--json]",
                      "Shows the ledger: every certificate issued in D, newest first.");
  if (auto done = start("list", parsed)) return *done;
  const po::variables_map* vm = &parsed.vm;
  pki::Issuer issuer((*vm)["dir"].as<std::string>());
  if (!fs::exists(issuer.ledger_path()))
    return fail("list", certwatch::make_error("no ledger in " + issuer.dir().string()));
  auto ledger = issuer.ledger();
  if (!ledger) return fail("list", ledger.error());
  std::optional<std::string> ca;
  if (vm->count("ca")) ca = (*vm)["ca"].as<std::string>();
  auto entries = (*ledger)->list(ca);
  if (!entries) return fail("list", entries.error());
  if (vm->count("json")) {
    certwatch::JsonWriter w;
    w.begin_array();
    for (const auto& e : *entries) {
      w.begin_object().key("serial").value(e.serial).key("ca").value(e.ca).key("name").value(
          e.name);
      w.key("subject").value(e.subject).key("sans").begin_array();
      for (const auto& s : e.sans) w.value(s);
      w.end_array().key("not_before").value(e.not_before).key("not_after").value(e.not_after);
      w.key("sha256")
          .value(e.sha256)
          .key("key_type")
          .value(e.key_type)
          .key("profile")
          .value(e.profile);
      w.key("status").value(e.status).key("issued_at").value(e.issued_at);
      if (e.status == "revoked")
        w.key("revoked_at").value(e.revoked_at).key("revocation_reason").value(e.revocation_reason);
      if (!e.superseded_by.empty()) w.key("superseded_by").value(e.superseded_by);
      if (!e.key_uri.empty()) w.key("key_uri").value(e.key_uri);
      w.end_object();
    }
    w.end_array();
    std::printf("%s\n", w.str().c_str());
    return kExitOk;
  }
  std::printf("%-10s %-12s %-14s %-20s %-20s %-40s %s\n", "STATUS", "PROFILE", "CA", "NAME",
              "NOT_AFTER", "SERIAL", "SUBJECT / SANS");
  for (const auto& e : *entries) {
    std::string sans;
    for (const auto& s : e.sans) sans += (sans.empty() ? "" : ",") + s;
    std::printf("%-10s %-12s %-14s %-20s %-20s %-40s %s%s%s\n", e.status.c_str(), e.profile.c_str(),
                e.ca.c_str(), e.name.c_str(), certwatch::format_iso8601(e.not_after).c_str(),
                e.serial.c_str(), e.subject.c_str(), sans.empty() ? "" : " / ", sans.c_str());
  }
  return kExitOk;
}

int cmd_revoke(const std::vector<std::string>& args) {
  auto d = common("Options");
  d.add_options()("serial", po::value<std::string>(), "serial number (hex)")(
      "name", po::value<std::string>(), "the --name it was issued under")(
      "ca", po::value<std::string>(), "the issuing CA (to disambiguate)")(
      "reason", po::value<std::string>()->default_value("unspecified"),
      "unspecified, keyCompromise, cACompromise, affiliationChanged, superseded, "
      "cessationOfOperation, "
      "certificateHold, privilegeWithdrawn, aACompromise");
  auto parsed = parse(
      "revoke", args, d,
      "Usage: certwatch pki revoke --dir D (--serial HEX | --name NAME) [--ca NAME] [--reason R]",
      "Marks a certificate revoked in the ledger; 'pki crl' then publishes it.");
  if (auto done = start("revoke", parsed)) return *done;
  const po::variables_map* vm = &parsed.vm;
  pki::Issuer issuer((*vm)["dir"].as<std::string>());
  auto opt = [&](const char* k) {
    return vm->count(k) ? std::optional<std::string>((*vm)[k].as<std::string>()) : std::nullopt;
  };
  if (opt("serial").has_value() == opt("name").has_value())
    return usage_error("certwatch pki revoke", "give exactly one of --serial and --name");
  auto r = issuer.revoke(opt("ca"), opt("serial"), opt("name"), (*vm)["reason"].as<std::string>(),
                         std::time(nullptr));
  if (!r) return fail("revoke", r.error());
  std::printf("revoked %s serial %s (CA %s, %s); run 'certwatch pki crl --ca %s' to publish\n",
              r->subject.c_str(), r->serial.c_str(), r->ca.c_str(), r->revocation_reason.c_str(),
              r->ca.c_str());
  return kExitOk;
}

int cmd_crl(const std::vector<std::string>& args) {
  auto d = common("Options");
  d.add_options()("ca", po::value<std::string>()->default_value(pki::kRootCaName),
                  "the CA whose CRL to write")(
      "next-update", po::value<std::string>()->default_value("30d"), "how long the CRL is current")(
      "out", po::value<std::string>()->value_name("F"),
      "output file (default D/<ca>/crl/<ca>.crl.pem)");
  add_passphrase_options(d, "", "of the CA's key");
  add_pin_options(d, "", "of the token that holds the CA's key");
  auto parsed = parse(
      "crl", args, d, "Usage: certwatch pki crl --dir D [--ca NAME] [--next-update 30d] [--out F]",
      "Writes a v2 CRL signed by the CA listing every certificate it issued that is revoked\n"
      "in the ledger (Mosquitto: crlfile).");
  if (auto done = start("crl", parsed)) return *done;
  const po::variables_map* vm = &parsed.vm;
  pki::Issuer issuer((*vm)["dir"].as<std::string>());
  const std::string ca = (*vm)["ca"].as<std::string>();
  auto pass = resolve_ca_secret(*vm, "", ca);
  if (!pass) return fail("crl", pass.error());
  std::optional<fs::path> out;
  if (vm->count("out")) out = (*vm)["out"].as<std::string>();
  auto r =
      issuer.write_crl(ca, *pass, *duration_option(*vm, "next-update"), std::time(nullptr), out);
  if (!r) return fail("crl", r.error());
  std::printf("wrote %s (CRL number %lld, %zu revoked)\n", r->path.c_str(),
              static_cast<long long>(r->number), r->revoked);
  return kExitOk;
}

int run_pki(const std::vector<std::string>& args) {
  if (args.size() < 2) {
    std::fputs(kPkiUsage, stderr);
    return kExitUsage;
  }
  const std::string& sub = args[1];
  if (sub == "-h" || sub == "--help" || sub == "help") {
    std::fputs(kPkiUsage, stdout);
    return kExitOk;
  }
  std::vector<std::string> rest(args.begin() + 2, args.end());
  for (const auto& a : rest)
    if (a == "--passphrase" || a.rfind("--passphrase=", 0) == 0 || a == "--pass" ||
        a.rfind("--pass=", 0) == 0) {
      std::fprintf(
          stderr,
          "certwatch pki %s: passphrases are never taken from the command line (other users "
          "can read it); use --passphrase-file F or --passphrase-credential NAME\n",
          sub.c_str());
      return kExitUsage;
    } else if (a == "--pin" || a.rfind("--pin=", 0) == 0) {
      std::fprintf(stderr,
                   "certwatch pki %s: PINs are never taken from the command line (other users "
                   "can read it); use --pin-file F or --pin-credential NAME\n",
                   sub.c_str());
      return kExitUsage;
    }
  static const std::vector<
      std::pair<std::string, std::function<int(const std::vector<std::string>&)>>>
      subs = {
          {"init", cmd_init},     {"ca", cmd_ca},         {"issue", cmd_issue},
          {"import", cmd_import}, {"bundle", cmd_bundle}, {"list", cmd_list},
          {"revoke", cmd_revoke}, {"crl", cmd_crl},
      };
  for (const auto& [name, fn] : subs) {
    if (name != sub) continue;
    return fn(rest);
  }
  std::fprintf(stderr, "certwatch pki: unknown command '%s' (see 'certwatch pki --help')\n",
               sub.c_str());
  return kExitUsage;
}

const CommandRegistration kRegistration("pki", "the built-in issuer: CAs, certificates, CRLs",
                                        run_pki);

}  // namespace
}  // namespace certwatch
