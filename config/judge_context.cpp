#include "config/judge_context.h"

#include "pki/load/load.h"

namespace certwatch::config {
namespace fs = std::filesystem;
namespace {

pki::Purpose profile_purpose(pki::Profile p) {
  return p == pki::Profile::client ? pki::Purpose::client : pki::Purpose::server;
}

const std::vector<fs::path>& trust_list(const Config& cfg,
                                        const std::optional<std::vector<fs::path>>& own) {
  return own ? *own : cfg.trust;
}

}  // namespace

const std::vector<std::string>& JudgeContext::trust_errors() const {
  static const std::vector<std::string> none;
  return trust ? trust->errors : none;
}

pki::JudgeOptions JudgeContext::at(int64_t now) const {
  pki::JudgeOptions o = options;
  o.now = now;
  pki::require_instant(o);
  return o;
}

JudgeContext make_judge_context(JudgeSpec spec) {
  JudgeContext ctx;
  auto& o = ctx.options;
  // No trust (a ledger row, judged for expiry only): no index either; the judge builds an
  // empty one if a chain is ever judged with it.
  if (spec.trust) {
    o.trust = spec.trust->certs;
    o.trust_index = spec.trust->index;
  }
  o.host = std::move(spec.host);
  o.purpose = spec.purpose;
  o.thresholds = spec.thresholds;
  o.policy = std::move(spec.policy);
  o.expect_leaf = spec.expect_leaf;
  o.clients = std::move(spec.clients);
  o.threads = spec.threads;
  ctx.trust = std::move(spec.trust);
  return ctx;
}

JudgeContext judge_context(const Config& cfg, const WatchEntry& e, pki::TrustStore& store) {
  JudgeSpec s;
  s.trust = store.get(trust_list(cfg, e.trust));
  s.host = e.host;
  s.purpose = e.purpose.value_or(pki::Purpose::any);
  s.thresholds = cfg.agent.thresholds;
  s.policy = cfg.severity_policy();
  s.clients = e.clients;
  return make_judge_context(std::move(s));
}

JudgeContext judge_context(const Config& cfg, const EndpointEntry& e, pki::TrustStore& store) {
  JudgeSpec s;
  s.trust = store.get(trust_list(cfg, e.trust));
  s.host = !e.sni.empty() ? e.sni : e.target.host;
  s.purpose = pki::Purpose::server;
  s.expect_leaf = true;
  s.thresholds = cfg.agent.thresholds;
  s.policy = cfg.severity_policy();
  s.clients = e.clients;
  return make_judge_context(std::move(s));
}

JudgeContext judge_context(const Config& cfg, const ManagedEntry& e, pki::TrustStore& store) {
  std::vector<fs::path> trust;
  for (const auto& i : cfg.issuers)
    if (i.name == e.issuer) trust = issuer_chain_trust(i);
  JudgeSpec s;
  s.trust = store.get(trust);
  s.purpose = profile_purpose(e.profile);
  s.expect_leaf = true;
  s.thresholds = cfg.agent.thresholds;
  s.policy = cfg.severity_policy();
  return make_judge_context(std::move(s));
}

JudgeContext issued_judge_context(const ManagedEntry& e, std::vector<pki::Certificate> anchors) {
  JudgeSpec s;
  s.trust = pki::TrustSet::of(std::move(anchors));
  if (!e.sans.empty()) s.host = e.sans.front().value;
  s.purpose = profile_purpose(e.profile);
  s.expect_leaf = true;
  return make_judge_context(std::move(s));
}

JudgeContext ledger_judge_context(const Config& cfg) {
  JudgeSpec s;
  s.thresholds = cfg.agent.thresholds;
  s.policy = cfg.severity_policy();
  return make_judge_context(std::move(s));
}

JudgeContext broker_judge_context(const std::optional<fs::path>& ca, const std::string& host,
                                  pki::TrustStore& store) {
  JudgeSpec s;
  s.trust = store.get(ca ? std::vector<fs::path>{*ca} : std::vector{pki::system_trust_file()});
  s.host = host;
  s.purpose = pki::Purpose::server;
  s.expect_leaf = true;
  s.threads = 0;
  return make_judge_context(std::move(s));
}

JudgeContext cli_judge_context(CliJudgeFlags flags) {
  JudgeSpec s;
  s.trust = pki::TrustSet::of(std::move(flags.anchors));
  s.host = std::move(flags.host);
  s.purpose = flags.purpose;
  s.thresholds = flags.thresholds;
  s.clients = std::move(flags.clients);
  s.expect_leaf = flags.expect_leaf;
  s.threads = 0;
  return make_judge_context(std::move(s));
}

std::vector<fs::path> issuer_chain_trust(const IssuerEntry& issuer) {
  if (!issuer.acme) return {issuer.pki_dir / "ca-bundle.pem"};
  if (!issuer.acme->chain_trust.empty()) return issuer.acme->chain_trust;
  if (!issuer.acme->trust.empty()) return issuer.acme->trust;
  return {pki::system_trust_file()};
}

}  // namespace certwatch::config
