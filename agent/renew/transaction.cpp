#include "agent/renew/transaction.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "agent/renew/reloader.h"
#include "pki/deploy/fault_point.h"

namespace certwatch::agent {

exporters::mqtt::RenewalEvent to_renewal_event(const RenewOutcome& o) {
  exporters::mqtt::RenewalEvent e;
  e.name = o.name;
  e.ok = o.ok;
  e.verified = o.verified;
  e.rolled_back = o.rolled_back;
  e.serial = o.serial;
  e.not_after = o.not_after;
  e.error = o.error;
  e.seconds = o.seconds;
  return e;
}

RenewStepWords renew_step_words(RenewStep step) {
  switch (step) {
    case RenewStep::issue:
      return {"issuance failed: ", "", ""};
    case RenewStep::deploy:
      return {"deploy failed: ", "", ""};
    case RenewStep::reload:
      return {"reload failed: ", "", ""};
    case RenewStep::verify:
      return {"the server does not serve the new certificate (", ")", ""};
    case RenewStep::rollback:
      return {"; rollback failed: ", "", "; previous set restored"};
    case RenewStep::reload_after_rollback:
      return {"; reload after rollback failed: ", "", ""};
    // Their messages name the problem themselves ("owner 'x' does not exist", "issued set:
    // ...", the deploy store's recovery error).
    case RenewStep::none:
    case RenewStep::setup:
    case RenewStep::recover:
    case RenewStep::judge:
      break;
  }
  return {"", "", ""};
}

namespace {

std::string in_words(RenewStep step, const std::string& message) {
  const auto w = renew_step_words(step);
  return std::string(w.before) + message + std::string(w.after);
}

}  // namespace

std::string describe_failure(const RenewOutcome& o) {
  if (o.failed_step == RenewStep::none) return "";
  std::string s = in_words(o.failed_step, o.failure.message);
  if (!o.rollback)
    s += in_words(RenewStep::rollback, o.rollback.error().message);
  else if (o.rolled_back)
    s += renew_step_words(RenewStep::rollback).succeeded;
  if (!o.reload_after_rollback)
    s += in_words(RenewStep::reload_after_rollback, o.reload_after_rollback.error().message);
  return s;
}

namespace {

struct Transaction : std::enable_shared_from_this<Transaction> {
  Transaction(boost::asio::io_context& io, std::vector<std::shared_ptr<RenewTarget>> t, int64_t now,
              VerifyPolicy v, RenewDone d)
      : io(io), targets(std::move(t)), now(now), verify_policy(v), done(std::move(d)) {
    outcomes.resize(targets.size());
    deployed.assign(targets.size(), false);
    for (size_t i = 0; i < targets.size(); ++i) outcomes[i].name = targets[i]->entry.name;
  }

  // 1. issue and deploy, one target after the other.
  void issue(size_t i) {
    if (i == targets.size()) return reload();
    auto& t = *targets[i];
    if (!t.setup) {
      fail(i, RenewStep::setup, t.setup.error());
      return issue(i + 1);
    }
    auto recovered = t.store->recover(t.ownership);
    if (!recovered) {
      fail(i, RenewStep::recover, recovered.error());
      return issue(i + 1);
    }
    // The caller holds the entry's lock, so an intent here is a crash's, never a live
    // transaction's; one that could not be finished is reported and this one goes on.
    if (recovered->outcome == pki::Recovery::Outcome::abandoned)
      spdlog::error("renew {}: an interrupted deploy could not be finished: {}", t.entry.name,
                    recovered->reason);
    // A failure here is the records' problem, not this renewal's: logged, and it goes on.
    log_reinstated(t.entry.name, reinstate_live(t, now));
    IssueOrder order{.name = t.entry.name,
                     .profile = t.entry.profile,
                     .subject = t.entry.subject,
                     .sans = {},
                     .key_type = t.entry.key_type,
                     .validity_seconds = t.entry.validity.count(),
                     .now = now};
    for (const auto& s : t.entry.sans) order.sans.push_back(pki::to_string(s));
    t.issuer->issue(order, [self = shared_from_this(), i](certwatch::Result<IssuedSet> set) {
      self->issued(i, std::move(set));
    });
  }

  // The issued set is judged when it arrives: an ACME order takes seconds to minutes and its
  // CA may set notBefore to the moment of issuance (pebble does), after `now`. Rounded up,
  // since notBefore has whole seconds.
  int64_t judged_at() const {
    const auto elapsed = std::chrono::steady_clock::now() - started;
    return now + std::chrono::ceil<std::chrono::seconds>(elapsed).count();
  }

  void issued(size_t i, certwatch::Result<IssuedSet> set) {
    auto& t = *targets[i];
    auto& out = outcomes[i];
    if (!set) {
      fail(i, RenewStep::issue, set.error());
    } else if (auto leaf = judge_issued(t, *set, judged_at()); !leaf) {
      fail(i, RenewStep::judge, leaf.error());
      discard(i, set->files.cert);
    } else if (auto r = t.store->deploy(set->files, t.ownership); !r) {
      fail(i, RenewStep::deploy, r.error());
      discard(i, set->files.cert);
    } else {
      deployed[i] = true;
      issued_leaf.resize(targets.size());
      issued_leaf[i] = set->files.cert;
      out.serial = leaf->serial_hex();
      out.not_before = leaf->validity().not_before;
      out.not_after = leaf->validity().not_after;
      expected.resize(targets.size());
      expected[i] = leaf->sha256_hex();
      for (const auto& w : set->warnings) spdlog::info("renew {}: {}", t.entry.name, w);
    }
    issue(i + 1);
  }

  void fail(size_t i, RenewStep step, certwatch::Error why) {
    outcomes[i].failed_step = step;
    outcomes[i].failure = std::move(why);
  }

  bool any_deployed() const {
    for (bool d : deployed)
      if (d) return true;
    return false;
  }

  // 2. one reload for everything deployed.
  void reload() {
    if (!any_deployed()) return finish();
    const auto& how = targets.front()->entry.reload;
    std::error_code ec;
    if (how.kind == config::Reload::Kind::signal &&
        !std::filesystem::exists(how.signal.pid_file, ec)) {
      // No pid file: the server is not running and reads the new set when it starts (the
      // bootstrap before the first start of the server). Nothing to reload or prove.
      spdlog::info("renew: {} does not exist, server not running: no reload",
                   how.signal.pid_file.string());
      for (size_t i = 0; i < targets.size(); ++i) outcomes[i].ok = deployed[i];
      return finish();
    }
    pki::fault_point("before_reload");
    start_reload(io, how,
                 [self = shared_from_this()](certwatch::Result<void> r) { self->reloaded(r); });
  }

  void reloaded(const certwatch::Result<void>& r) {
    pki::fault_point("after_reload");
    if (!r) {
      for (size_t i = 0; i < targets.size(); ++i)
        if (deployed[i]) rollback(i, RenewStep::reload, r.error());
      return reload_after_rollback();
    }
    verify(0);
  }

  // 3. the proof, one target after the other.
  void verify(size_t i) {
    if (i == targets.size()) return reload_after_rollback();
    auto& t = *targets[i];
    if (!deployed[i] || !t.verify) {
      if (deployed[i]) outcomes[i].ok = true;
      return verify(i + 1);
    }
    verify_served(io, t.verify->target, t.verify->tls, expected[i], verify_policy,
                  [self = shared_from_this(), i](VerifyOutcome v) {
                    if (v.served)
                      self->outcomes[i].ok = self->outcomes[i].verified = true;
                    else
                      self->rollback(i, RenewStep::verify, certwatch::make_error(v.message));
                    self->verify(i + 1);
                  });
  }

  void rollback(size_t i, RenewStep failed, certwatch::Error why) {
    auto& t = *targets[i];
    auto& out = outcomes[i];
    fail(i, failed, std::move(why));
    out.rollback = t.store->restore_previous(t.ownership);
    out.rolled_back = out.rollback.ok();
    rolled_back_any = true;
    // Only a set that is no longer live is forgotten: a failed restore leaves it deployed.
    if (out.rolled_back) discard(i, issued_leaf[i]);
  }

  // The issuer forgets a set that never went live (cert_issuer.h), so that its records name
  // the live certificate as current; a failure to do so is logged, not the renewal's verdict.
  void discard(size_t i, const std::string& leaf_pem) {
    auto& t = *targets[i];
    if (auto r = t.issuer->discard(leaf_pem, now); !r)
      spdlog::warn("renew {}: the unused certificate stays current in the issuer's records: {}",
                   t.entry.name, r.error().message);
  }

  void reload_after_rollback() {
    if (!rolled_back_any) return finish();
    start_reload(io, targets.front()->entry.reload,
                 [self = shared_from_this()](certwatch::Result<void> r) {
                   if (!r)
                     for (auto& o : self->outcomes)
                       if (o.rolled_back) o.reload_after_rollback = r;
                   self->finish();
                 });
  }

  void finish() {
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    for (auto& o : outcomes) {
      o.seconds = secs;
      o.error = describe_failure(o);
    }
    done(std::move(outcomes));
  }

  boost::asio::io_context& io;
  std::vector<std::shared_ptr<RenewTarget>> targets;
  int64_t now;
  VerifyPolicy verify_policy;
  RenewDone done;
  std::vector<RenewOutcome> outcomes;
  std::vector<bool> deployed;
  std::vector<std::string> expected;     // new leaf fingerprints
  std::vector<std::string> issued_leaf;  // new leaves (PEM), for discard after a rollback
  bool rolled_back_any = false;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

}  // namespace

void run_renewal(boost::asio::io_context& io, std::vector<std::shared_ptr<RenewTarget>> targets,
                 int64_t now, VerifyPolicy verify, RenewDone done) {
  std::make_shared<Transaction>(io, std::move(targets), now, verify, std::move(done))->issue(0);
}

}  // namespace certwatch::agent
