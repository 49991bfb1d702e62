// `certwatch probe`: connects to a TLS endpoint, captures the chain each address serves (in the
// order sent) and judges it exactly as `check` judges a file, with check's table, JSON and
// Nagios exit codes. Sockets are agent/probe/'s, certificates pki/'s.
#include <openssl/ssl.h>

#include <boost/program_options.hpp>
#include <ctime>
#include <iostream>
#include <string>
#include <vector>

#include "agent/cli/check_output.h"
#include "agent/cli/command.h"
#include "agent/cli/options.h"
#include "agent/probe/endpoint_judge.h"
#include "agent/probe/tls_probe.h"
#include "base/duration.h"
#include "config/address.h"
#include "config/judge_context.h"
#include "pki/judge/judge.h"
#include "pki/verify/served_chain.h"

namespace certwatch {
namespace {

namespace po = boost::program_options;

constexpr const char* kUsage =
    "Usage: certwatch probe HOST:PORT [--sni NAME] [--ca-bundle F]... [--cert F --key F]\n"
    "                       [--protocol P] [--timeout DUR] [--host NAME] [--purpose "
    "server|client]\n"
    "                       [--expect-file F] [--json]\n\n"
    "Connects to HOST:PORT (an IPv6 address in brackets: [::1]:8883), once per address the name\n"
    "resolves to, performs a TLS handshake and judges the chain each address served, in the\n"
    "order it was sent, as `certwatch check` judges a file: order, completeness, trust, host\n"
    "name, expiry, lints. The host name checked is --host, else --sni, else HOST; a Unicode\n"
    "name (HOST, --sni, --host) is sent and matched as its A-label (IDNA 2008).\n"
    "Each step (resolve, connect, STARTTLS dialogue, handshake, MQTT exchange) has one\n"
    "deadline for the whole step, --timeout (default 10s); the whole probe ends within four\n"
    "times it (five with --protocol other than tls).\n"
    "A failed connect is endpoint.unreachable, a failed handshake endpoint.handshake_failed,\n"
    "a refused or missing CONNACK (--protocol mqtt) or a failed STARTTLS dialogue (smtp, imap,\n"
    "pop3, ftp, postgres) endpoint.protocol_failed. With --expect-file, an address whose leaf\n"
    "is not the file's first certificate is endpoint.stale (every address is compared).\n\n"
    "Exit codes (Nagios): 0 nothing worse than info, 1 warning, 2 critical,\n"
    "3 unknown (a name that does not resolve, bad input or usage error) when nothing is "
    "critical.\n\n"
    "Options";

struct ProbeCli {
  std::string target, sni, cert, key, protocol = "tls", timeout = "10s", host, purpose = "server";
  std::string expect_file;
  std::vector<std::string> bundles;
  bool json = false;
};

int run_probe(const std::vector<std::string>& args) {
  const std::string& cmd = args[0];
  ProbeCli cli;
  po::options_description desc(kUsage);
  desc.add_options()("help,h", "show this help")(
      "sni", po::value(&cli.sni)->value_name("NAME"),
      "server name to send (default: HOST unless an IP)")(
      "ca-bundle", po::value(&cli.bundles)->value_name("F"),
      "trust anchors (PEM/DER/PKCS#7); repeatable; default: the system store")(
      "cert", po::value(&cli.cert)->value_name("F"),
      "client certificate (leaf first, chain after)")("key", po::value(&cli.key)->value_name("F"),
                                                      "the client certificate's private key")(
      "protocol", po::value(&cli.protocol)->value_name("P"),
      "tls (direct TLS; the default), mqtt (then an MQTT 3.1.1 CONNECT must get CONNACK 0), or\n"
      "smtp, imap, pop3, ftp, postgres (STARTTLS: the protocol's plaintext dialogue first)")(
      "timeout", po::value(&cli.timeout)->value_name("DUR"),
      "deadline of each whole step (default 10s)")("host", po::value(&cli.host)->value_name("NAME"),
                                                   "host name or IP the leaf must match")(
      "purpose", po::value(&cli.purpose)->value_name("server|client"),
      "what the leaf is used for (default server)")(
      "expect-file", po::value(&cli.expect_file)->value_name("F"),
      "the certificate every address should serve (endpoint.stale if not)")(
      "json", po::bool_switch(&cli.json), "JSON output")(
      "target", po::value(&cli.target)->value_name("HOST:PORT"), "the endpoint");
  po::positional_options_description pos;
  pos.add("target", 1);
  po::variables_map vm;
  if (auto done = parse_command_line(args, desc, pos, vm)) return *done;
  if (cli.target.empty()) return usage_error(cmd, "no HOST:PORT given");
  auto hp = config::parse_host_port(cli.target);
  if (!hp) return usage_error(cmd, hp.error().message);
  const auto protocol = config::parse_protocol(cli.protocol);
  if (!protocol)
    return usage_error(cmd, "--protocol " + cli.protocol +
                                " is not supported (tls, mqtt, smtp, imap, pop3, ftp or postgres)");
  auto seconds = certwatch::parse_duration(cli.timeout);
  if (!seconds) return usage_error(cmd, "--timeout: " + seconds.error().message);
  if (*seconds < 1 || *seconds > 3600) return usage_error(cmd, "--timeout must be from 1s to 1h");
  if (cli.cert.empty() != cli.key.empty()) return usage_error(cmd, "--cert and --key go together");
  // SNI and the certificate's SANs carry A-labels (HOST is converted by parse_host_port).
  if (auto done = host_option_to_ascii(cmd, "--sni", cli.sni)) return *done;
  if (auto done = host_option_to_ascii(cmd, "--host", cli.host)) return *done;

  // The system clock, read once: every address of this run is judged at one instant.
  const auto now = static_cast<int64_t>(std::time(nullptr));
  config::CliJudgeFlags flags;
  flags.expect_leaf = true;
  auto purpose = pki::parse_purpose(cli.purpose);
  if (!purpose) return usage_error(cmd, "--purpose must be server or client");
  flags.purpose = *purpose;
  agent::probe::TlsTarget target;
  target.host = hp->host;
  target.port = hp->port;
  target.sni = !cli.sni.empty() ? cli.sni : agent::probe::is_ip_literal(hp->host) ? "" : hp->host;
  target.step_timeout = std::chrono::seconds(*seconds);
  target.protocol = *protocol;
  flags.host = !cli.host.empty() ? cli.host : !cli.sni.empty() ? cli.sni : hp->host;
  auto trust = load_trust_anchors(cli.bundles);
  if (!trust) return usage_error(cmd, trust.error().message);
  flags.anchors = std::move(*trust);
  // The agent's endpoint context, so that an address is judged by the agent's judge_address;
  // the name is the argument as typed (the reports' targets).
  agent::EndpointContext endpoint;
  endpoint.name = cli.target;
  if (!cli.expect_file.empty()) endpoint.entry.expect_file = cli.expect_file;
  endpoint.judge = config::cli_judge_context(std::move(flags));

  auto ctx = agent::probe::new_client_ssl_ctx();
  if (!ctx) return usage_error(cmd, ctx.error().message);
  if (!cli.cert.empty()) {
    auto identity = pki::use_client_identity(ctx->get(), cli.cert, cli.key);
    if (!identity) return usage_error(cmd, identity.error().message);
  }

  const agent::probe::TlsProbeResult result = agent::probe::probe_tls(target, ctx->get());
  if (result.resolve_error) return usage_error(cmd, *result.resolve_error);
  std::vector<pki::Report> reports;
  pki::VerifyCache cache;
  for (const auto& a : result.addresses) {
    pki::Report r = agent::judge_address(endpoint, a, now, now, 0, &cache).report;
    if (!a.chain.empty())
      r.notes.push_back("served over " + a.tls_version + " with " + a.cipher + " in " +
                        std::to_string(a.duration.count()) + " ms");
    reports.push_back(std::move(r));
  }
  std::vector<pki::Finding> findings;
  for (const auto& r : reports)
    for (const auto& f : r.findings) findings.push_back(f);
  const int code = pki::nagios_exit_code(findings);
  if (cli.json)
    print_check_json(reports, findings, now, code);
  else
    print_check_human(reports, findings, now, code, "endpoint");
  return code;
}

const CommandRegistration kRegistration{
    "probe", "connect to a TLS endpoint and judge the chain it serves (Nagios exit codes)",
    run_probe};

}  // namespace
}  // namespace certwatch
