// `certwatch renew -c FILE NAME [--force] [--dry-run] [--wait DURATION]`: one renewal
// transaction of a managed certificate from the command line, through the agent's own code
// path (renew_target.h, transaction.h): take the entry's lock (pki/deploy/deploy_lock.h; the
// agent takes the same one), recover an interrupted deploy, issue, judge, deploy, reload,
// verify, roll back. Without --force it renews only what is due (or missing, or not matching
// its entry), decided after the lock is taken: another process may just have renewed it.
#include <utility>  // before asio: Boost 1.74 + GCC 12 + C++20

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/cli/command.h"
#include "agent/renew/reconcile.h"
#include "agent/renew/reloader.h"
#include "agent/renew/transaction.h"
#include "base/duration.h"
#include "config/loader.h"
#include "pki/deploy/deploy_lock.h"

namespace certwatch {
namespace {

constexpr const char* kUsage =
    "Usage: certwatch renew -c FILE NAME [--force] [--dry-run] [--wait DURATION]\n"
    "\n"
    "Renews the managed certificate NAME of the agent's config FILE once, as the agent would:\n"
    "finishes a deploy a crash interrupted, issues a new key and certificate, checks them,\n"
    "writes key, certificate and chain atomically (keeping the previous set under\n"
    "agent.state_dir), reloads the server and proves by handshake that it serves the new\n"
    "certificate, rolling back if it does not. One renewal of NAME runs at a time: this waits\n"
    "while the agent or another `certwatch renew` renews it, then decides again whether it is\n"
    "due.\n"
    "Before (when nothing is due) and after renewing, asks the server (verify_endpoint, or an\n"
    "endpoints: entry whose expect_file is the managed file) whether it serves the deployed\n"
    "certificate on every address; if not, reloads it and checks again, and says so.\n"
    "\n"
    "Options:\n"
    "  -c, --config FILE  the agent's config\n"
    "  --force            renew even if the certificate is not due\n"
    "  --dry-run          say what would be done; issue, write and reload nothing\n"
    "  --wait DURATION    how long to wait while another renewal of NAME (the agent's or\n"
    "                     another `certwatch renew`) runs (default 5m; 0: do not wait)\n"
    "  -h, --help         show this help\n"
    "\n"
    "Exit status: 0 renewed or not due, 2 the renewal failed (nothing live changed, or the\n"
    "previous set restored) or the server does not serve the deployed certificate even after\n"
    "a reload, 3 usage or config error, 4 another renewal of NAME still ran after --wait\n"
    "(nothing done).\n";

// Another transaction held the entry's lock for the whole --wait.
constexpr int kExitLocked = 4;
constexpr auto kLockPoll = std::chrono::milliseconds(200);

struct Args {
  std::string config, name;
  bool force = false, dry_run = false;
  int64_t wait_seconds = 300;
};

// The entry's lock, waiting up to `wait_seconds` while another holds it (saying who, once);
// nullopt after the wait, the error when the lock cannot be taken at all.
certwatch::Result<std::optional<pki::DeployLock>> take_lock(const std::filesystem::path& dir,
                                                            const std::string& name,
                                                            int64_t wait_seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_seconds);
  bool said = false;
  for (;;) {
    auto lock = pki::DeployLock::try_acquire(dir, "renew");
    if (!lock || *lock) return lock;
    const auto holder = pki::describe(pki::DeployLock::holder(dir));
    if (std::chrono::steady_clock::now() >= deadline) {
      std::fprintf(stderr,
                   "%s: the renewal of %s is still held by %s after --wait %s; nothing done\n",
                   name.c_str(), name.c_str(), holder.c_str(),
                   certwatch::format_duration(wait_seconds).c_str());
      return std::optional<pki::DeployLock>{};
    }
    if (!said) {
      std::printf("waiting: the renewal of %s is held by %s\n", name.c_str(), holder.c_str());
      std::fflush(stdout);
      said = true;
    }
    std::this_thread::sleep_for(kLockPoll);
  }
}

// The serial of the live leaf, "" when there is none to read.
std::string live_serial(const pki::CertSetStore& store) {
  auto live = store.read_live();
  if (!live || !*live) return "";
  auto leaf = pki::Certificate::from_pem((*live)->cert);
  return leaf ? leaf->serial_hex() : "";
}

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
    else if (s == "--wait" || s.rfind("--wait=", 0) == 0) {
      if (s == "--wait" && i + 1 == args.size()) return usage_error(cmd, "--wait needs a DURATION");
      const std::string text = s == "--wait" ? args[++i] : s.substr(7);
      // "0" needs no unit: it means "do not wait".
      auto d = text == "0" ? certwatch::Result<int64_t>(0) : certwatch::parse_duration(text);
      if (!d || *d < 0) return usage_error(cmd, "--wait: not a duration: '" + text + "'");
      a.wait_seconds = *d;
    } else if (s.rfind("--config=", 0) == 0)
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
  int64_t now = std::time(nullptr);

  // Held until the process ends: through the decision, the transaction and its rollback.
  std::optional<pki::DeployLock> lock;
  // An abandoned deploy is renewed afresh, due or not: the renewal it belonged to was wanted,
  // and the certificate it issued is not the live one.
  bool abandoned = false;
  if (!a.dry_run) {
    auto taken = take_lock(target->store->dir(), a.name, a.wait_seconds);
    if (!taken) {
      std::fprintf(stderr, "%s: %s\n", a.name.c_str(), taken.error().message.c_str());
      return kExitCritical;
    }
    if (!*taken) return kExitLocked;
    lock = std::move(*taken);
    // The entry may have changed while this waited (the agent renews with the config a SIGHUP
    // gave it): read the config again, now that nobody else can renew NAME. A config that no
    // longer loads or names NAME elsewhere keeps the one read at the start.
    if (auto again = config::load_config(a.config); again) {
      std::shared_ptr<agent::RenewTarget> fresh;
      for (auto& t : agent::make_renew_targets(io, *again))
        if (t->entry.name == a.name) fresh = t;
      if (fresh && fresh->store->dir() == target->store->dir()) {
        cfg = std::move(again);
        target = std::move(fresh);
      }
    }
    now = std::time(nullptr);
    auto r = target->store->recover(target->ownership);
    abandoned = r && r->outcome == pki::Recovery::Outcome::abandoned;
    if (!r)
      std::fprintf(stderr, "%s: %s\n", a.name.c_str(), r.error().message.c_str());
    else if (r->outcome == pki::Recovery::Outcome::finished)
      std::printf("%s: finished a deploy that a crash interrupted\n", a.name.c_str());
    else if (abandoned)
      std::fprintf(stderr, "%s: an interrupted deploy could not be finished: %s; renewing afresh\n",
                   a.name.c_str(), r->reason.c_str());
    if (auto n = agent::reinstate_live(*target, now); !n)
      std::fprintf(stderr,
                   "%s: cannot reinstate the live certificate in the issuer's records: %s\n",
                   a.name.c_str(), n.error().message.c_str());
    else if (*n > 0)
      std::printf(
          "%s: the live certificate is current again in the ledger (%d issuance(s) that "
          "never went live withdrawn)\n",
          a.name.c_str(), *n);
  }
  const auto& e = target->entry;
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
  if (usable && due > now && !a.force && !abandoned) {
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
        // What is said is what the files hold: under the lock nobody else wrote them, and
        // this says so only after reading them back.
        const std::string serial = o.ok ? live_serial(*target->store) : "";
        if (o.ok && serial == o.serial) {
          std::printf("%s: renewed: serial %s, valid until %s (%.3f s)\n", o.name.c_str(),
                      o.serial.c_str(), certwatch::format_iso8601(o.not_after).c_str(), o.seconds);
          code = kExitOk;
        } else if (o.ok) {
          std::fprintf(stderr, "%s: serial %s was deployed, but the files now hold serial %s\n",
                       o.name.c_str(), o.serial.c_str(), serial.empty() ? "none" : serial.c_str());
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
