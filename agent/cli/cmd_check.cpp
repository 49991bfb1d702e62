// `certwatch check`: the one-shot judge with Nagios exit codes. Reads files and directories,
// judges each certificate file as an ordered chain (pki/judge/judge.h), prints a table of
// certificates and the findings (or JSON), and optionally writes the chain in the right order.
#include <openssl/x509.h>
#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <string>
#include <vector>

#include "agent/cli/check_output.h"
#include "agent/cli/command.h"
#include "agent/cli/options.h"
#include "base/duration.h"
#include "base/json.h"
#include "base/text_escape.h"
#include "config/judge_context.h"
#include "pki/deploy/atomic_file.h"
#include "pki/judge/judge.h"
#include "pki/load/load.h"
#include "pki/verify/clients.h"

namespace certwatch {
namespace {

namespace po = boost::program_options;
namespace fs = std::filesystem;

constexpr const char* kUsage =
    "Usage: certwatch check [--ca-bundle F]... [--key F] [--host NAME] [--purpose server|client]\n"
    "                       [--warning DUR] [--critical DUR] [--fix-order OUT [--keep-root]]\n"
    "                       [--clients] [--json] PATH...\n\n"
    "Judges certificate files (PEM, DER, PKCS#7) and directories (walked recursively; keys\n"
    "pair with certificates by file stem). A file is judged as an ordered chain: leaf first,\n"
    "each issuer after its child, complete up to a trust anchor. The trust verdict is the one\n"
    "`openssl verify -CAfile BUNDLE -untrusted FILE FILE` gives; the findings say why.\n"
    "Without --ca-bundle the system trust store is used.\n"
    "--clients predicts, per client family (OpenSSL 3, GnuTLS 3.7, Go crypto/x509, mbedTLS 2.28\n"
    "with a 4 KiB record), whether it accepts the file served as it is "
    "(client.<family>.rejects).\n\n"
    "Exit codes (Nagios): 0 nothing worse than info, 1 warning, 2 critical,\n"
    "3 unknown (unreadable input or usage error) when nothing is critical.\n\n"
    "Options";

struct CliOptions {
  std::vector<std::string> bundles;
  std::string key, host, purpose, warning, critical, fix_order;
  bool keep_root = false, json = false, clients = false;
  std::vector<std::string> paths;
};

// The trust anchors: the bundles given, or the system store's bundle file.
certwatch::Result<std::vector<pki::Certificate>> load_trust(
    const std::vector<std::string>& bundles) {
  std::vector<pki::Certificate> out;
  if (bundles.empty()) {
    pki::FileInput in = pki::load_file(pki::system_trust_file());
    if (in.ok()) out = in.loaded->certs;
    return out;
  }
  for (const auto& b : bundles) {
    pki::FileInput in = pki::load_file(b);
    if (!in.ok()) return certwatch::make_error("cannot use CA bundle " + in.loaded.error().message);
    if (in.loaded->certs.empty())
      return certwatch::make_error("CA bundle " + b + " holds no certificate");
    for (const auto& c : in.loaded->certs) out.push_back(c);
  }
  return out;
}

struct Style {
  bool colour = false;
  std::string on(pki::Severity s) const {
    if (!colour) return {};
    switch (s) {
      case pki::Severity::critical:
        return "\033[1;31m";
      case pki::Severity::warning:
        return "\033[33m";
      case pki::Severity::unknown:
        return "\033[35m";
      case pki::Severity::info:
        return "\033[36m";
    }
    return {};
  }
  std::string off() const { return colour ? "\033[0m" : ""; }
};

// "2026-03-01 12:00" (the table's header says UTC).
std::string date_of(int64_t t) {
  std::string s = certwatch::format_timestamp(t);
  return s.size() > 4 ? s.substr(0, s.size() - 4) : s;
}

int64_t days_left(int64_t not_after, int64_t now) {
  const int64_t d = not_after - now;
  return d >= 0 ? d / 86400 : -((-d + 86399) / 86400);
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string status_word(int code) {
  switch (code) {
    case 0:
      return "OK";
    case 1:
      return "WARNING";
    case 2:
      return "CRITICAL";
    default:
      return "UNKNOWN";
  }
}

// Names and messages carry bytes from files and from remote servers: on a terminal, control
// characters would be escape sequences, so they are shown as \xNN like in the log.
std::string term(std::string_view s) {
  return certwatch::needs_escape(s, certwatch::EscapeSet::for_log)
             ? certwatch::escape_text(s, certwatch::EscapeSet::for_log)
             : std::string(s);
}

std::string clip(const std::string& given, size_t width) {
  const std::string s = term(given);
  if (s.size() <= width) return s;
  return s.substr(0, width - 1) + "~";
}

void print_human(const std::vector<pki::Report>& reports, const std::vector<pki::Finding>& findings,
                 int64_t now, int code, std::string_view noun = "file") {
  const Style st{::isatty(STDOUT_FILENO) == 1 && std::getenv("NO_COLOR") == nullptr};
  size_t file_w = 4, cn_w = 10, icn_w = 9;
  for (const auto& r : reports) {
    file_w = std::max(file_w, std::min<size_t>(r.target.size(), 60));
    for (const auto& c : r.certs) {
      cn_w = std::max(cn_w, std::min<size_t>(c.subject_cn.size(), 40));
      icn_w = std::max(icn_w, std::min<size_t>(c.issuer_cn.size(), 40));
    }
  }
  size_t ncerts = 0;
  for (const auto& r : reports) ncerts += r.certs.size();
  if (ncerts > 0) {
    std::printf("%-*s  %3s  %-12s  %-*s  %-*s  %-16s  %9s\n", static_cast<int>(file_w),
                upper(noun).c_str(), "POS", "ROLE", static_cast<int>(cn_w), "SUBJECT CN",
                static_cast<int>(icn_w), "ISSUER CN", "NOT AFTER (UTC)", "DAYS LEFT");
    for (const auto& r : reports) {
      for (const auto& c : r.certs) {
        std::printf("%-*s  %3d  %-12s  %-*s  %-*s  %-16s  %9lld\n", static_cast<int>(file_w),
                    clip(r.target, 60).c_str(), c.index, std::string(to_string(c.role)).c_str(),
                    static_cast<int>(cn_w), clip(c.subject_cn, 40).c_str(), static_cast<int>(icn_w),
                    clip(c.issuer_cn, 40).c_str(), date_of(c.not_after).c_str(),
                    static_cast<long long>(days_left(c.not_after, now)));
      }
    }
  }
  for (const auto& r : reports)
    for (const auto& n : r.notes)
      std::printf("note: %s: %s\n", term(r.target).c_str(), term(n).c_str());
  for (const auto& r : reports) {
    if (r.clients.empty()) continue;
    std::string line;
    for (const auto& v : r.clients)
      line += (line.empty() ? "" : ", ") + v.family + (v.accepts ? " accepts" : " REJECTS");
    std::printf("clients: %s: %s\n", term(r.target).c_str(), line.c_str());
  }
  if (!findings.empty()) {
    std::printf("\nFindings:\n");
    std::vector<pki::Finding> sorted = findings;  // worst first, otherwise as judged
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& a, const auto& b) { return a.severity > b.severity; });
    for (const auto& f : sorted) {
      std::printf("  %s%-8s%s %-34s %s\n    %s\n", st.on(f.severity).c_str(),
                  upper(pki::to_string(f.severity)).c_str(), st.off().c_str(), f.id.c_str(),
                  term(f.target).c_str(), term(f.message).c_str());
    }
  }
  size_t by[4] = {0, 0, 0, 0};
  for (const auto& f : findings) ++by[static_cast<int>(f.severity)];
  std::printf(
      "\n%s: %zu certificate(s) in %zu %.*s(s); %zu critical, %zu warning, %zu unknown, %zu info\n",
      status_word(code).c_str(), ncerts, reports.size(), static_cast<int>(noun.size()), noun.data(),
      by[3], by[1], by[2], by[0]);
}

void print_json(const std::vector<pki::Report>& reports, const std::vector<pki::Finding>& findings,
                int64_t now, int code) {
  certwatch::JsonWriter w;
  w.begin_object().key("certificates").begin_array();
  for (const auto& r : reports) {
    for (const auto& c : r.certs) {
      w.begin_object().key("file").value(r.target);
      pki::write_json_fields(w, c);
      w.key("days_left").value(days_left(c.not_after, now)).end_object();
    }
  }
  w.end_array().key("findings").begin_array();
  for (const auto& f : findings) {
    w.begin_object();
    pki::write_json_fields(w, f);
    w.end_object();
  }
  w.end_array().key("files").begin_array();
  for (const auto& r : reports) {
    w.begin_object().key("target").value(r.target).key("trusted").value(r.trusted);
    w.key("order_judged").value(r.order_judged);
    w.key("verify_error");
    if (r.verify_error)
      w.value(*r.verify_error);
    else
      w.null();
    w.key("key");
    if (r.key) {
      w.begin_object()
          .key("path")
          .value(r.key->path)
          .key("encrypted")
          .value(r.key->encrypted)
          .key("key_type")
          .value(r.key->key_type)
          .key("spki_sha256")
          .value(r.key->spki_sha256)
          .end_object();
    } else {
      w.null();
    }
    w.key("notes").begin_array();
    for (const auto& n : r.notes) w.value(n);
    w.end_array();
    pki::write_json_clients(w, r.clients);
    w.end_object();
  }
  w.end_array().key("exit_code").value(code).key("status").value(status_word(code)).end_object();
  std::printf("%s\n", w.str().c_str());
}

// Writes the chain as it should be: the path from the leaf, root dropped unless kept.
int write_fixed(const CliOptions& cli, const pki::Report& r, const std::string& cmd) {
  pki::FileInput in = pki::load_file(r.target);
  if (!in.ok())
    return usage_error(cmd, "cannot re-read " + r.target + ": " + in.loaded.error().message);
  std::string pem;
  int written = 0;
  for (int idx : r.fixed_order) {
    if (r.certs[static_cast<size_t>(idx)].role == pki::CertRole::root && !cli.keep_root) continue;
    pem += in.loaded->certs[static_cast<size_t>(idx)].pem();
    ++written;
  }
  if (written == 0) return usage_error(cmd, "nothing to write for " + r.target);
  auto ok = pki::write_file_atomic(cli.fix_order, pem, 0644);
  if (!ok) return usage_error(cmd, "cannot write " + cli.fix_order + ": " + ok.error().message);
  std::fprintf(stderr, "%s: wrote %d certificate(s) to %s%s\n", cmd.c_str(), written,
               cli.fix_order.c_str(),
               r.fixable ? "" : " (the path is still incomplete or untrusted: see the findings)");
  return kExitOk;
}

int run_check(const std::vector<std::string>& args) {
  const std::string& cmd = args[0];
  CliOptions cli;
  po::options_description desc(kUsage);
  desc.add_options()("help,h", "show this help")(
      "ca-bundle", po::value(&cli.bundles)->value_name("F"),
      "trust anchors (PEM/DER/PKCS#7); repeatable; default: the system store")(
      "key", po::value(&cli.key)->value_name("F"), "private key to pair with the leaf")(
      "host", po::value(&cli.host)->value_name("NAME"),
      "host name or IP the leaf must match (SAN); a Unicode name is matched as its A-label")(
      "purpose", po::value(&cli.purpose)->value_name("server|client"),
      "what the leaf is used for (checks extendedKeyUsage)")(
      "warning", po::value(&cli.warning)->value_name("DUR"),
      "warn when less is left (default 30d, capped at a third of the lifetime)")(
      "critical", po::value(&cli.critical)->value_name("DUR"),
      "critical when less is left (default 7d, capped at a tenth of the lifetime)")(
      "fix-order", po::value(&cli.fix_order)->value_name("OUT"),
      "write the chain leaf first, each issuer after its child, without duplicates, unrelated "
      "certificates and the root (atomically)")("keep-root", po::bool_switch(&cli.keep_root),
                                                "with --fix-order: keep the root")(
      "json", po::bool_switch(&cli.json), "JSON output")(
      "clients", po::bool_switch(&cli.clients),
      "predict per client family (openssl, gnutls, go, mbedtls) whether it accepts the chain "
      "served as the file is; with --host, the name is checked too")(
      "path", po::value(&cli.paths)->value_name("PATH"), "files or directories");
  po::positional_options_description pos;
  pos.add("path", -1);
  po::variables_map vm;
  if (auto done = parse_command_line(args, desc, pos, vm)) return *done;
  if (cli.paths.empty()) return usage_error(cmd, "no PATH given");

  // The system clock, read once: every file of this run is judged at one instant.
  const auto now = static_cast<int64_t>(std::time(nullptr));
  config::CliJudgeFlags flags;
  if (auto done = host_option_to_ascii(cmd, "--host", cli.host)) return *done;
  if (!cli.host.empty()) flags.host = cli.host;
  if (!cli.purpose.empty()) {
    auto purpose = pki::parse_purpose(cli.purpose);
    if (!purpose) return usage_error(cmd, "--purpose must be server or client");
    flags.purpose = *purpose;
  }
  if (!cli.warning.empty()) {
    auto d = certwatch::parse_duration(cli.warning);
    if (!d) return usage_error(cmd, "--warning: " + d.error().message);
    flags.thresholds.warning_seconds = *d;
  }
  if (!cli.critical.empty()) {
    auto d = certwatch::parse_duration(cli.critical);
    if (!d) return usage_error(cmd, "--critical: " + d.error().message);
    flags.thresholds.critical_seconds = *d;
  }
  if (cli.keep_root && cli.fix_order.empty())
    return usage_error(cmd, "--keep-root needs --fix-order");
  if (cli.clients)
    for (const auto f : pki::client_families()) flags.clients.emplace_back(f);
  auto trust = load_trust(cli.bundles);
  if (!trust) return usage_error(cmd, trust.error().message);
  flags.anchors = std::move(*trust);
  const pki::JudgeOptions opt = config::cli_judge_context(std::move(flags)).at(now);

  std::vector<fs::path> paths(cli.paths.begin(), cli.paths.end());
  std::optional<fs::path> key;
  if (!cli.key.empty()) key = cli.key;
  pki::VerifyCache cache;
  std::vector<pki::Report> reports = pki::judge_paths(paths, opt, key, &cache);

  std::vector<pki::Finding> findings;
  for (const auto& r : reports)
    for (const auto& f : r.findings) findings.push_back(f);
  const int code = pki::nagios_exit_code(findings);

  if (!cli.fix_order.empty()) {
    const pki::Report* chain = nullptr;
    int with_certs = 0;
    for (const auto& r : reports)
      if (!r.certs.empty()) {
        ++with_certs;
        chain = &r;
      }
    if (with_certs != 1) return usage_error(cmd, "--fix-order needs exactly one certificate file");
    if (chain->fixed_order.empty())
      return usage_error(cmd, chain->target + " is not a chain with a leaf");
    if (const int rc = write_fixed(cli, *chain, cmd); rc != kExitOk) return rc;
  }

  if (cli.json)
    print_json(reports, findings, opt.now, code);
  else
    print_human(reports, findings, opt.now, code);
  return code;
}

const CommandRegistration kRegistration{
    "check", "judge certificate files and chains (Nagios exit codes)", run_check};

}  // namespace

// Shared with `certwatch probe` (check_output.h): one table, one JSON shape, one trust loader.
certwatch::Result<std::vector<pki::Certificate>> load_trust_anchors(
    const std::vector<std::string>& bundles) {
  return load_trust(bundles);
}
void print_check_human(const std::vector<pki::Report>& reports,
                       const std::vector<pki::Finding>& findings, int64_t now, int code,
                       std::string_view noun) {
  print_human(reports, findings, now, code, noun);
}
void print_check_json(const std::vector<pki::Report>& reports,
                      const std::vector<pki::Finding>& findings, int64_t now, int code) {
  print_json(reports, findings, now, code);
}

}  // namespace certwatch
