#include "agent/renew/scheduler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>

#include "agent/renew/acme_issuer.h"
#include "agent/renew/reloader.h"
#include "base/duration.h"
#include "config/judge_context.h"
#include "pki/deploy/deploy_lock.h"
#include "pki/load/load.h"
#include "pki/x509/key.h"

namespace certwatch::agent {
namespace {

constexpr int64_t kShareReloadSeconds = 60;  // due within the same minute: one reload
constexpr int64_t kMaxBackoff = 3600;
// ARI: without a Retry-After the CA is asked again after 6 h (the draft's example, and what
// Let's Encrypt sends); a longer one is capped at a day, so that a CA's call for early renewal
// (a mass revocation) is heard within a day. The shortest interval is agent.renew_retry.
constexpr int64_t kAriDefaultRetry = 6 * 3600;
constexpr int64_t kAriMaxRetry = 86400;
// A due entry whose lock another process holds is tried again this often (agent clock): a
// `certwatch renew` takes seconds, and the files it leaves decide what happens next.
constexpr std::chrono::seconds kLockPoll{1};

bool renewal_config_changed(const config::Config& a, const config::Config& b) {
  return a.managed != b.managed || a.issuers != b.issuers || a.endpoints != b.endpoints ||
         a.agent.state_dir != b.agent.state_dir || a.severities != b.severities ||
         a.agent.thresholds != b.agent.thresholds;
}

}  // namespace

TargetId managed_target(const std::string& name) {
  return {SourceKind::managed, "managed/" + name};
}

RenewScheduler::RenewScheduler(boost::asio::io_context& io, Clock& clock, Inventory& inventory,
                               SourceSink& sink)
    : io_(io), clock_(clock), inventory_(inventory), sink_(sink) {}

RenewScheduler::~RenewScheduler() {
  *alive_ = false;
  stop();
}

void RenewScheduler::stop() {
  stopped_ = true;
  for (auto& [name, m] : managed_) {
    m.timer->cancel();
    m.ari_timer->cancel();
  }
}

void RenewScheduler::apply(const config::Config& cfg) {
  if (configured_ && !renewal_config_changed(config_, cfg)) return;
  for (auto& [name, m] : managed_) {
    m.timer->cancel();
    m.ari_timer->cancel();
    inventory_.remove(managed_target(name));
    sink_.renewal_removed(name);
  }
  managed_.clear();
  config_ = cfg;
  configured_ = true;
  stopped_ = false;
  for (auto& t : make_renew_targets(io_, cfg)) {
    const std::string name = t->entry.name;
    auto& m = managed_[name];
    m.target = std::move(t);
    m.st.name = name;
    m.timer = clock_.make_timer();
    m.ari_timer = clock_.make_timer();
    m.reload_key = m.target->entry.reload.kind == config::Reload::Kind::none
                       ? ""
                       : describe_reload(m.target->entry.reload);
    // What reconcile can ask (reconcile.h), for a deferred entry too.
    m.asks = reconcile_endpoints(cfg, *m.target);
    if (in_flight_.count(name) != 0) {
      // The old entry's transaction still runs and holds the lock: a second one now would
      // reload beside it and could roll back onto its set. The new entry is scheduled from
      // the files that transaction leaves, when it finished (finished()).
      m.deferred = m.st.running = true;
      spdlog::info("renew {}: changed while its renewal runs; the new entry applies after it",
                   name);
      publish(m);
      continue;
    }
    recover(m);
    schedule_from_live(m);
    publish(m);
    arm(m);
    // A crash between a deploy and its reload leaves the old certificate served: asked at
    // start unless the renewal that is due anyway reloads.
    if (m.st.next_at > clock_.now()) start_reconcile(m);
  }
}

int64_t RenewScheduler::window(const Managed& m) const {
  const auto& e = m.target->entry;
  return e.renew_before ? e.renew_before->count() : e.validity.count() / 3;
}

void RenewScheduler::schedule_from_live(Managed& m) {
  const int64_t now = clock_.now();
  m.st.ari = false;
  m.ari_timer->cancel();
  m.leaf_der.clear();
  m.window_start = m.window_end = 0;
  const auto live = m.target->store->read_live();
  if (auto usable = check_live_set(*m.target, live); !usable) {
    spdlog::info("renew {}: issuing now: {}", m.st.name, usable.error().message);
    m.st.serial.clear();
    m.st.not_after = 0;
    m.st.due_at = now;
  } else {
    // check_live_set read this leaf already.
    auto leaf = pki::Certificate::from_pem((*live)->cert);
    m.st.serial = leaf->serial_hex();
    m.st.not_after = leaf->validity().not_after;
    const int64_t max_jitter = m.target->entry.validity.count() / 20;
    m.jitter = max_jitter > 0 ? std::uniform_int_distribution<int64_t>(0, max_jitter)(rng_) : 0;
    m.st.due_at = m.st.not_after - window(m) - m.jitter;
    const auto der = leaf->der();
    m.leaf_der.assign(der.begin(), der.end());
    ask_suggested_window(m);
  }
  if (m.st.failures == 0) m.st.next_at = m.st.due_at;
}

// ARI: the issuer may know better when this certificate should be renewed (a CA that revokes
// early, or spreads its load). Its window replaces the entry's own due time; a moment in it is
// drawn once per window, as the draft asks; a window already over means now. The CA is asked
// again after its Retry-After (see kAriDefaultRetry), for as long as this leaf is the live one,
// unless the answer says asking again cannot help (the built-in CA, no renewalInfo).
void RenewScheduler::ask_suggested_window(Managed& m) {
  const uint64_t asked = ++m.window_asks;
  const std::string serial = m.st.serial;
  m.target->issuer->suggested_window(
      m.leaf_der, [this, alive = alive_, name = m.st.name, asked, serial](WindowAnswer answer) {
        if (!*alive) return;
        auto it = managed_.find(name);
        if (it == managed_.end()) return;
        auto& m = it->second;
        // A newer question, a renewal in flight or another certificate since: not this answer's.
        if (m.window_asks != asked || m.st.running || m.st.serial != serial) return;
        const auto& w = answer.window;
        if (answer.ask_again)
          ask_again_in(m, w && w->retry_after > 0 ? w->retry_after : kAriDefaultRetry);
        if (!w) return;
        if (m.st.ari && w->start == m.window_start && w->end == m.window_end)
          return;  // the same window
        m.window_start = w->start;
        m.window_end = w->end;
        const int64_t now = clock_.now();
        const int64_t span = std::max<int64_t>(0, w->end - w->start);
        const int64_t at =
            w->start + (span > 0 ? std::uniform_int_distribution<int64_t>(0, span)(rng_) : 0);
        m.st.due_at = std::max(now, std::min(at, m.st.not_after));
        m.st.ari = true;
        spdlog::info("renew {}: the CA suggests renewing between {} and {} (ARI{}{}): due {}", name,
                     certwatch::format_iso8601(w->start), certwatch::format_iso8601(w->end),
                     w->explanation_url.empty() ? "" : ", ", w->explanation_url,
                     certwatch::format_iso8601(m.st.due_at));
        if (m.st.failures == 0) m.st.next_at = m.st.due_at;
        publish(m);
        arm(m);
      });
}

void RenewScheduler::ask_again_in(Managed& m, int64_t seconds) {
  if (stopped_ || m.leaf_der.empty()) return;
  const int64_t delay =
      std::clamp<int64_t>(seconds, config_.agent.renew_retry.count(), kAriMaxRetry);
  m.ari_timer->wait_for(
      std::chrono::seconds(delay), [this, name = m.st.name, serial = m.st.serial](bool fired) {
        if (!fired || stopped_) return;
        auto it = managed_.find(name);
        if (it == managed_.end() || it->second.st.running || it->second.st.serial != serial) return;
        ask_suggested_window(it->second);
      });
}

void RenewScheduler::arm(Managed& m) {
  if (stopped_) return;
  sink_.renewal_scheduled(m.st.name, m.st.next_at, m.st.last_success, m.st.failures, m.st.served);
  const int64_t delay = std::max<int64_t>(0, m.st.next_at - clock_.now());
  m.timer->wait_for(std::chrono::seconds(delay), [this, name = m.st.name](bool fired) {
    if (fired && !stopped_) fire(name);
  });
}

// A deploy a crash interrupted is ended (pki/deploy/cert_set.h recover()) before anything else
// looks at the files, under the entry's lock: while another process holds it, that process is
// mid-transaction and ends its deploy itself. One that cannot be finished is abandoned (the
// previous set back), reported as a failed renewal, and a fresh transaction follows at once.
void RenewScheduler::recover(Managed& m) {
  auto lock = pki::DeployLock::try_acquire(m.target->store->dir(), "agent");
  if (!lock || !*lock) {
    if (!lock) spdlog::error("renew {}: {}", m.st.name, lock.error().message);
    return;
  }
  auto r = m.target->store->recover(m.target->ownership);
  if (!r) {
    spdlog::error("renew {}: {}", m.st.name, r.error().message);
    return;
  }
  if (r->outcome == pki::Recovery::Outcome::finished)
    spdlog::warn("renew {}: finished a deploy that was interrupted", m.st.name);
  log_reinstated(m.st.name, reinstate_live(*m.target, clock_.now()));
  if (r->outcome != pki::Recovery::Outcome::abandoned) return;
  spdlog::error("renew {}: an interrupted deploy could not be finished: {}; renewing again",
                m.st.name, r->reason);
  ++m.st.failures;
  m.st.last_error = "an interrupted deploy could not be finished: " + r->reason;
  m.st.next_at = clock_.now();
}

// Another process (`certwatch renew`) holds the entry's lock: not a failure, the entry is
// tried again after kLockPoll.
void RenewScheduler::wait_for_lock(Managed& m, const std::string& holder) {
  if (!m.waiting)
    spdlog::info("renew {}: due, but its renewal is held by {}; trying again when it is released",
                 m.st.name, holder);
  m.waiting = true;
  m.timer->wait_for(kLockPoll, [this, name = m.st.name](bool fired) {
    if (fired && !stopped_) fire(name);
  });
}

void RenewScheduler::fire(const std::string& name) {
  auto it = managed_.find(name);
  if (it == managed_.end() || it->second.st.running || it->second.reconciling) return;
  auto& first = it->second;
  const int64_t now = clock_.now();
  auto lock = pki::DeployLock::try_acquire(first.target->store->dir(), "agent");
  if (!lock) {
    RenewOutcome o;
    o.name = name;
    o.failed_step = RenewStep::setup;
    o.failure = lock.error();
    o.error = describe_failure(o);
    return finished({o});
  }
  if (!*lock)
    return wait_for_lock(first, pki::describe(pki::DeployLock::holder(first.target->store->dir())));
  if (first.waiting) {
    // The holder may just have renewed it: decide again from the files it left.
    first.waiting = false;
    const std::string before = first.st.serial;
    schedule_from_live(first);
    if (!first.st.serial.empty() && first.st.serial != before) {
      spdlog::info("renew {}: serial {} was deployed by another process meanwhile", name,
                   first.st.serial);
      first.st.failures = 0;
      first.st.last_error.clear();
      first.st.next_at = first.st.due_at;
    }
    if (first.st.next_at > now) {
      publish(first);
      return arm(first);
    }
  }
  auto locks = std::make_shared<std::vector<pki::DeployLock>>();
  locks->push_back(std::move(**lock));
  std::vector<std::shared_ptr<RenewTarget>> batch{first.target};
  first.st.running = true;
  if (!first.reload_key.empty())
    for (auto& [other, m] : managed_) {
      if (other == name || m.st.running || m.reload_key != first.reload_key ||
          m.st.next_at > now + kShareReloadSeconds)
        continue;
      // One whose lock is held elsewhere goes on its own timer, and waits there.
      auto l = pki::DeployLock::try_acquire(m.target->store->dir(), "agent");
      if (!l || !*l) continue;
      locks->push_back(std::move(**l));
      m.timer->cancel();
      m.st.running = true;
      batch.push_back(m.target);
    }
  for (const auto& t : batch) {
    in_flight_.insert(t->entry.name);
    spdlog::info("renew {}: starting ({})", t->entry.name, t->issuer->describe());
  }
  // The locks are held until the transaction's last step (a rollback's reload included) is
  // done and its outcome recorded.
  run_renewal(io_, std::move(batch), now, verify_,
              [this, alive = alive_, locks](std::vector<RenewOutcome> outcomes) {
                if (*alive) finished(outcomes);
                locks->clear();
              });
}

void RenewScheduler::finished(const std::vector<RenewOutcome>& outcomes) {
  const int64_t now = clock_.now();
  for (const auto& o : outcomes) {
    in_flight_.erase(o.name);
    sink_.renewal_finished(o);
    auto it = managed_.find(o.name);
    if (it == managed_.end()) continue;
    auto& m = it->second;
    m.st.running = false;
    if (m.deferred) {
      m.deferred = false;
      spdlog::info("renew {}: the changed entry applies now that its renewal finished", o.name);
    }
    if (o.ok) {
      spdlog::info("renew {}: serial {} deployed{}, valid until {} ({:.3f} s)", o.name, o.serial,
                   o.verified ? " and served" : "", certwatch::format_iso8601(o.not_after),
                   o.seconds);
      m.st.failures = 0;
      m.st.last_error.clear();
      m.st.last_success = now;
      schedule_from_live(m);
    } else {
      ++m.st.failures;
      m.st.last_error = o.error;
      schedule_from_live(m);
      const int shift = std::min(m.st.failures - 1, 6);
      int64_t next = now + std::min(kMaxBackoff, config_.agent.renew_retry.count() << shift);
      // Never retry later than the moment the certificate expires.
      if (m.st.not_after > now) next = std::min(next, m.st.not_after);
      m.st.next_at = std::max(next, now + 1);
      spdlog::error("renew {}: failed ({} in a row), next attempt in {} s: {}", o.name,
                    m.st.failures, m.st.next_at - now, o.error);
    }
    publish(m);
    arm(m);
    // After the transaction's locks are released (they are, right after this returns): the
    // reconcile takes the entry's lock of its own.
    boost::asio::post(io_, [this, alive = alive_, name = o.name] {
      if (!*alive || stopped_) return;
      if (auto it = managed_.find(name); it != managed_.end()) start_reconcile(it->second);
    });
  }
}

// Under the entry's lock, since a reconcile may reload the server: while another process
// holds it, that process is mid-transaction and proves (and reconciles) its own set.
void RenewScheduler::start_reconcile(Managed& m) {
  if (stopped_ || m.reconciling || m.st.running) return;
  auto lock = pki::DeployLock::try_acquire(m.target->store->dir(), "agent");
  if (!lock || !*lock) {
    if (!lock) spdlog::error("renew {}: {}", m.st.name, lock.error().message);
    return;
  }
  auto held = std::make_shared<pki::DeployLock>(std::move(**lock));
  m.reconciling = ++reconciles_;
  reconcile(io_, m.target, m.asks, verify_,
            [this, alive = alive_, name = m.st.name, id = m.reconciling, held](ReconcileOutcome r) {
              (void)held;  // the entry's lock, released when the reconcile ends
              if (*alive) reconciled(name, id, r);
            });
}

// A server that cannot be made to serve the deployed leaf is a failed attempt like any
// other: renewal.failed with the reason, and the retry's transaction reloads and proves again.
void RenewScheduler::reconciled(const std::string& name, uint64_t id, const ReconcileOutcome& r) {
  auto it = managed_.find(name);
  if (it == managed_.end() || it->second.reconciling != id) return;
  auto& m = it->second;
  m.reconciling = 0;
  m.st.served = r.served;
  const int64_t now = clock_.now();
  using R = ReconcileOutcome::Result;
  if (r.result == R::failed) {
    spdlog::error("renew {}: {}", name, r.message);
    if (m.st.failures == 0) {
      m.st.failures = 1;
      m.st.last_error = r.message;
      int64_t next = now + std::min(kMaxBackoff, config_.agent.renew_retry.count());
      if (m.st.not_after > now) next = std::min(next, m.st.not_after);
      m.st.next_at = std::max(next, now + 1);
    } else if (m.st.last_error.find(r.message) == std::string::npos) {
      m.st.last_error += "; " + r.message;
    }
  } else if (r.result == R::reloaded || r.result == R::unreachable) {
    spdlog::warn("renew {}: {}", name, r.message);
  } else {
    spdlog::info("renew {}: {}", name, r.message);
  }
  publish(m);
  arm(m);
}

void RenewScheduler::publish(Managed& m) {
  const auto target = managed_target(m.st.name);
  const auto& e = m.target->entry;
  InventoryEntry entry;
  entry.state = ManagedState{.name = m.st.name,
                             .due_at = m.st.due_at,
                             .next_at = m.st.next_at,
                             .failures = m.st.failures,
                             .last_error = m.st.last_error};
  auto& report = entry.report;
  report.target = target.id;
  const auto policy = config_.severity_policy();
  // The deployed chain, judged as a server's file against the issuer's root.
  auto live = m.target->store->read_live();
  if (live && *live) {
    auto loaded = pki::load_bytes(e.chain ? (*live)->chain : (*live)->cert, target.id);
    if (loaded && !loaded->certs.empty()) {
      // The live key is paired with the leaf, so that a key and certificate that do not
      // belong together show here as key.mismatch. Its mode is the entry's (configured) and
      // not judged here: 0 keeps key.permissions out.
      std::optional<pki::KeyRecord> key;
      if (auto k = pki::key_from_bytes((*live)->key, e.key.string(), 0); k) key = std::move(*k);
      // The issuer's bundle through the store: read again when it was rotated since.
      report = pki::judge_chain(target.id, loaded->certs, key,
                                config::judge_context(config_, e, trust_).at(clock_.now()));
    }
  }
  if (m.st.failures > 0)
    report.findings.push_back(
        pki::make_finding(policy, pki::fid::renewal_failed, target.id,
                          std::to_string(m.st.failures) + " failed attempt(s), next at " +
                              certwatch::format_iso8601(m.st.next_at) + ": " + m.st.last_error));
  if (m.st.due_at > 0 && clock_.now() > m.st.due_at + kShareReloadSeconds)
    report.findings.push_back(
        pki::make_finding(policy, pki::fid::renewal_overdue, target.id,
                          "renewal was due at " + certwatch::format_iso8601(m.st.due_at)));
  inventory_.observe(target, std::move(entry));
}

std::vector<RenewStatus> RenewScheduler::status() const {
  std::vector<RenewStatus> out;
  for (const auto& [name, m] : managed_) out.push_back(m.st);
  return out;
}

}  // namespace certwatch::agent
