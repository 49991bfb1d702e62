#include "agent/renew/reconcile.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <system_error>

#include "agent/renew/reloader.h"
#include "pki/judge/trust_store.h"

namespace certwatch::agent {
namespace {

namespace fs = std::filesystem;

// The same file however the config spells it (a relative path, "a/../b", a symlinked dir).
bool same_file(const fs::path& a, const fs::path& b) {
  std::error_code ea, eb;
  const auto ca = fs::weakly_canonical(a, ea), cb = fs::weakly_canonical(b, eb);
  return !ea && !eb ? ca == cb : a.lexically_normal() == b.lexically_normal();
}

std::string joined(const std::vector<std::string>& parts) {
  std::string s;
  for (const auto& p : parts) s += (s.empty() ? "" : ", ") + p;
  return s;
}

struct Reconciliation : std::enable_shared_from_this<Reconciliation> {
  Reconciliation(boost::asio::io_context& io, std::shared_ptr<RenewTarget> t,
                 std::vector<std::shared_ptr<const EndpointContext>> a, VerifyPolicy p,
                 ReconcileDone d)
      : io(io), target(std::move(t)), asks(std::move(a)), policy(p), done(std::move(d)) {}

  void start() {
    const auto live = target->store->read_live();
    if (auto usable = check_live_set(*target, live); !usable)
      return finish(ReconcileOutcome::Result::unchecked, -1,
                    "not checked: " + usable.error().message);
    auto leaf = pki::Certificate::from_pem((*live)->cert);  // check_live_set read it already
    expected = leaf->sha256_hex();
    out.deployed_serial = leaf->serial_hex();
    if (asks.empty())
      return finish(ReconcileOutcome::Result::unchecked, -1,
                    "not checked: no verify_endpoint, nor an endpoints: entry whose expect_file "
                    "is the managed file");
    check(0);
  }

  // 1. one handshake per server: which of them serve another leaf.
  void check(size_t i) {
    if (i == asks.size()) return checked();
    const VerifyPolicy once{.attempts = 1, .pause = std::chrono::milliseconds(0)};
    verify_served(io, asks[i]->target, asks[i]->tls, expected, once,
                  [self = shared_from_this(), i](VerifyOutcome v) {
                    if (!v.served) {
                      const auto& name = self->asks[i]->name;
                      if (!v.stale.empty()) {
                        self->stale.push_back(i);
                        for (const auto& s : v.stale)
                          self->stale_words.push_back(s + " at " + name);
                      } else {
                        self->unanswered.push_back(name + ": " + v.message);
                      }
                    }
                    self->check(i + 1);
                  });
  }

  void checked() {
    using R = ReconcileOutcome::Result;
    if (stale.empty()) {
      if (!unanswered.empty())
        return finish(R::unreachable, -1,
                      "not known whether the deployed certificate (serial " + out.deployed_serial +
                          ") is served: " + joined(unanswered));
      return finish(R::served, 1,
                    "serves the deployed certificate (serial " + out.deployed_serial + ")");
    }
    const std::string stale_is = "served certificate was stale (" + joined(stale_words) +
                                 "; deployed serial " + out.deployed_serial + ")";
    const auto& reload = target->entry.reload;
    if (reload.kind == config::Reload::Kind::none)
      return finish(R::failed, 0, stale_is + ", and the entry has no reload to fix it");
    spdlog::warn("renew {}: {}: reloading by {}", target->entry.name, stale_is,
                 describe_reload(reload));
    start_reload(io, reload, [self = shared_from_this(), stale_is](certwatch::Result<void> r) {
      if (!r) return self->finish(R::failed, 0, stale_is + "; reload failed: " + r.error().message);
      self->reverify(0, stale_is);
    });
  }

  // 2. after the reload: the servers that were stale, until they serve it or the attempts
  // run out (a server applies a reload a moment after it was asked to).
  void reverify(size_t k, const std::string& stale_is) {
    using R = ReconcileOutcome::Result;
    if (k == stale.size())
      return finish(R::reloaded, 1,
                    stale_is + ", reloaded, now serves serial " + out.deployed_serial);
    const auto& ask = *asks[stale[k]];
    verify_served(io, ask.target, ask.tls, expected, policy,
                  [self = shared_from_this(), k, stale_is](VerifyOutcome v) {
                    if (!v.served)
                      return self->finish(R::failed, 0,
                                          stale_is + "; reloaded, but " +
                                              self->asks[self->stale[k]]->name + ": " + v.message);
                    self->reverify(k + 1, stale_is);
                  });
  }

  void finish(ReconcileOutcome::Result result, int served, std::string message) {
    out.result = result;
    out.served = served;
    out.message = std::move(message);
    done(std::move(out));
  }

  boost::asio::io_context& io;
  std::shared_ptr<RenewTarget> target;
  std::vector<std::shared_ptr<const EndpointContext>> asks;
  VerifyPolicy policy;
  ReconcileDone done;
  std::string expected;  // the deployed leaf's SHA-256
  ReconcileOutcome out;
  std::vector<size_t> stale;             // indexes into asks
  std::vector<std::string> stale_words;  // "127.0.0.2 serves serial A at host:port"
  std::vector<std::string> unanswered;
};

}  // namespace

std::vector<std::shared_ptr<const EndpointContext>> reconcile_endpoints(const config::Config& cfg,
                                                                        const RenewTarget& t) {
  std::vector<std::shared_ptr<const EndpointContext>> out;
  if (t.verify) out.push_back(t.verify);
  pki::TrustStore trust;
  std::shared_ptr<probe::ProbeContext> plain;
  for (const auto& ep : cfg.endpoints) {
    if (!ep.expect_file) continue;
    if (!same_file(*ep.expect_file, t.entry.cert) &&
        !(t.entry.chain && same_file(*ep.expect_file, *t.entry.chain)))
      continue;
    if (t.verify && t.verify->entry.target == ep.target) continue;  // asked already
    if (!plain) plain = make_plain_probe_context();
    auto entry = ep;
    // The leaf is all that is asked: an MQTT CONNECT after the handshake adds nothing (the
    // STARTTLS dialogues stay: there is no handshake without them).
    if (entry.protocol == config::Protocol::mqtt) entry.protocol = config::Protocol::tls;
    out.push_back(make_endpoint_context(cfg, entry, trust, plain));
  }
  return out;
}

void reconcile(boost::asio::io_context& io, std::shared_ptr<RenewTarget> t,
               std::vector<std::shared_ptr<const EndpointContext>> asks, VerifyPolicy policy,
               ReconcileDone done) {
  std::make_shared<Reconciliation>(io, std::move(t), std::move(asks), policy, std::move(done))
      ->start();
}

}  // namespace certwatch::agent
