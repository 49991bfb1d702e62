// `certwatch renew -c FILE NAME [--force] [--dry-run]`: one renewal transaction of a managed
// certificate from the command line, through the agent's own code path (renew_target.h,
// transaction.h): recover an interrupted deploy, issue, judge, deploy, reload, verify, roll
// back. Without --force it renews only what is due (or missing, or not matching its entry).
#include <utility>  // before asio: Boost 1.74 + GCC 12 + C++20

#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "agent/cli/command.h"
#include "agent/renew/reconcile.h"
#include "agent/renew/reloader.h"
#include "agent/renew/transaction.h"
#include "base/duration.h"
#include "config/loader.h"

namespace certwatch {
namespace {

constexpr const char* kUsage =
    "Usage: certwatch renew -c FILE NAME [--force] [--dry-run]\n"
    "\n"
    "Renews the managed certificate NAME of the agent's config FILE once, as the agent would:\n"
    "finishes a deploy a crash interrupted, issues a new key and certificate, checks them,\n"
    "writes key, certificate and chain atomically (keeping the previous set under\n"
    "agent.state_dir), reloads the server and proves by handshake that it serves the new\n"
    "certificate, rolling back if it does not.\n"
    "Before (when nothing is due) and after renewing, asks the server (verify_endpoint, or an\n"
    "endpoints: entry whose expect_file is the managed file) whether it serves the deployed\n"
    "certificate on every address; if not, reloads it and checks again, and says so.\n"
    "\n"
    "Options:\n"
    "  -c, --config FILE  the agent's config\n"
    "  --force            renew even if the certificate is not due\n"
    "  --dry-run          say what would be done; issue, write and reload nothing\n"
    "  -h, --help         show this help\n"
    "\n"
    "Exit status: 0 renewed or not due, 2 the renewal failed (nothing live changed, or the\n"
    "previous set restored) or the server does not serve the deployed certificate even after\n"
    "a reload, 3 usage or config error.\n";

struct Args {
  std::string config, name;
  bool force = false, dry_run = false;
};

int run(const std::vector<std::string>& args) {
  const std::string cmd = "certwatch renew";
  Args a;
  for (size_t i = 1; i < args.size(); ++i) {
    const auto& s = args[i];
    if (s == "-h" || s == "--help") {
      std::fputs(kUsage, stdout);
      return kExitOk;
    }
    if (s == "--force")
      a.force = true;
    else if (s == "--dry-run")
      a.dry_run = true;
    else if ((s == "-c" || s == "--config") && i + 1 < args.size())
      a.config = args[++i];
    else if (s.rfind("--config=", 0) == 0)
      a.config = s.substr(9);
    else if (!s.empty() && s[0] == '-')
      return usage_error(cmd, "unknown option " + s);
    else if (a.name.empty())
      a.name = s;
    else
      return usage_error(cmd, "one NAME only");
  }
  if (a.config.empty()) return usage_error(cmd, "-c FILE is required");
  if (a.name.empty()) return usage_error(cmd, "NAME (a managed: entry) is required");
  auto cfg = config::load_config(a.config);
  if (!cfg) {
    std::fprintf(stderr, "%s\n", cfg.error().message.c_str());
    return kExitUsage;
  }
  boost::asio::io_context io;
  std::shared_ptr<agent::RenewTarget> target;
  for (auto& t : agent::make_renew_targets(io, *cfg))
    if (t->entry.name == a.name) target = t;
  if (!target) return usage_error(cmd, "no managed entry named '" + a.name + "'");
  const int64_t now = std::time(nullptr);
  const auto& e = target->entry;

  if (!a.dry_run) {
    if (auto r = target->store->recover(target->ownership); !r)
      std::fprintf(stderr, "%s: %s\n", a.name.c_str(), r.error().message.c_str());
    else if (*r)
      std::printf("%s: finished a deploy that a crash interrupted\n", a.name.c_str());
  }
  const auto live = target->store->read_live();
  const auto usable = agent::check_live_set(*target, live);
  int64_t due = now;
  if (usable) {
    auto leaf = pki::Certificate::from_pem((*live)->cert);
    const int64_t window = e.renew_before ? e.renew_before->count() : e.validity.count() / 3;
    due = leaf->validity().not_after - window;
    std::printf("%s: serial %s, valid until %s, due %s\n", a.name.c_str(),
                leaf->serial_hex().c_str(),
                certwatch::format_iso8601(leaf->validity().not_after).c_str(),
                certwatch::format_iso8601(due).c_str());
  } else {
    std::printf("%s: must be issued: %s\n", a.name.c_str(), usable.error().message.c_str());
  }
  // Reconcile (reconcile.h): what the server serves, said as it is; a failure is exit 2.
  const auto reconcile_served = [&] {
    agent::ReconcileOutcome r;
    agent::reconcile(io, target, agent::reconcile_endpoints(*cfg, *target), agent::VerifyPolicy{},
                     [&r](agent::ReconcileOutcome out) { r = std::move(out); });
    io.run();
    io.restart();
    std::fprintf(r.failed() ? stderr : stdout, "%s: %s\n", a.name.c_str(), r.message.c_str());
    return r.failed() ? kExitCritical : kExitOk;
  };
  if (usable && due > now && !a.force) {
    std::printf("%s: not due (--force renews anyway)\n", a.name.c_str());
    return a.dry_run ? kExitOk : reconcile_served();
  }
  if (a.dry_run) {
    std::printf("%s: would issue from %s, write %s, %s%s, reload by %s%s\n", a.name.c_str(),
                target->issuer->describe().c_str(), e.key.c_str(), e.cert.c_str(),
                e.chain ? (", " + e.chain->string()).c_str() : "",
                agent::describe_reload(e.reload).c_str(),
                e.verify_endpoint ? (", verify " + e.verify_endpoint->to_string()).c_str() : "");
    return kExitOk;
  }
  int code = kExitCritical;
  agent::run_renewal(
      io, {target}, now, agent::VerifyPolicy{}, [&](std::vector<agent::RenewOutcome> out) {
        const auto& o = out.front();
        if (o.ok) {
          std::printf("%s: renewed: serial %s, valid until %s (%.3f s)\n", o.name.c_str(),
                      o.serial.c_str(), certwatch::format_iso8601(o.not_after).c_str(), o.seconds);
          code = kExitOk;
        } else {
          std::fprintf(stderr, "%s: renewal failed: %s\n", o.name.c_str(), o.error.c_str());
        }
      });
  io.run();
  io.restart();
  const int served = reconcile_served();
  return code != kExitOk ? code : served;
}

const CommandRegistration reg{
    "renew", "renew one managed certificate now (same transaction as the agent)", run};

}  // namespace
}  // namespace certwatch
