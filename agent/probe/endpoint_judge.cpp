#include "agent/probe/endpoint_judge.h"

#include <openssl/ssl.h>

#include "agent/inventory/rejudge_time.h"
#include "pki/load/load.h"
#include "pki/verify/served_chain.h"

namespace certwatch::agent {

std::shared_ptr<probe::ProbeContext> make_plain_probe_context() {
  auto ssl = probe::new_client_ssl_ctx();
  if (!ssl) return std::make_shared<probe::ProbeContext>(ssl.error());
  return std::make_shared<probe::ProbeContext>(ssl->get());
}

std::shared_ptr<const EndpointContext> make_endpoint_context(
    const config::Config& cfg, const config::EndpointEntry& e, pki::TrustStore& trust,
    const std::shared_ptr<probe::ProbeContext>& plain) {
  auto ctx = std::make_shared<EndpointContext>();
  ctx->entry = e;
  ctx->name = e.target.to_string();
  ctx->severities = cfg.severities;
  ctx->judge = config::judge_context(cfg, e, trust);
  ctx->trust_errors = ctx->judge.trust_errors();

  ctx->tls = plain;
  if (e.client_cert && e.client_key) {
    auto ssl = probe::new_client_ssl_ctx();
    if (!ssl)
      ctx->identity = ssl.error();
    else if (auto ok = pki::use_client_identity(ssl->get(), *e.client_cert, *e.client_key); !ok)
      ctx->identity = ok.error();
    else
      ctx->tls = std::make_shared<probe::ProbeContext>(ssl->get());
  }

  ctx->target.host = e.target.host;
  ctx->target.port = e.target.port;
  ctx->target.sni = e.sni;
  ctx->target.step_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(e.timeout);
  ctx->target.protocol = e.protocol;
  return ctx;
}

bool judged_alike(const EndpointContext& a, const EndpointContext& b) {
  const pki::JudgeOptions& x = a.judge.options;
  const pki::JudgeOptions& y = b.judge.options;
  if (x.thresholds != y.thresholds || a.severities != b.severities || x.host != y.host ||
      x.clients != y.clients || x.trust.size() != y.trust.size() ||
      a.entry.expect_file != b.entry.expect_file)
    return false;
  for (size_t i = 0; i < x.trust.size(); ++i)
    if (x.trust[i].sha256() != y.trust[i].sha256()) return false;
  return true;
}

std::string endpoint_target(const EndpointContext& ctx, const std::string& address) {
  return address.empty() ? ctx.name : ctx.name + " [" + address + "]";
}

namespace {

// endpoint.stale: the leaf served is not the leaf of expect_file. A file that cannot be read
// (yet) is a note: the finding is about a server that did not reload, not about the file.
void check_stale(const EndpointContext& ctx, const pki::Certificate& served, pki::Report& r) {
  const auto& file = ctx.entry.expect_file;
  if (!file) return;
  pki::FileInput in = pki::load_file(*file);
  if (!in.ok() || in.loaded->certs.empty()) {
    r.notes.push_back("expect_file " + file->string() + ": " +
                      (in.ok() ? "holds no certificate" : in.loaded.error().message));
    return;
  }
  const pki::Certificate& want = in.loaded->certs.front();
  if (want.sha256() == served.sha256()) return;
  r.findings.push_back(pki::make_finding(
      ctx.judge.options.policy, pki::fid::endpoint_stale, r.target,
      "serves serial " + served.serial_hex() + " but " + file->string() + " holds serial " +
          want.serial_hex() + ": the files were replaced and the server was not reloaded"));
}

InventoryEntry finish(const EndpointContext& ctx, pki::Report report, EndpointState state,
                      int64_t now) {
  InventoryEntry e;
  if (!ctx.identity)
    report.notes.push_back("client identity not used: " + ctx.identity.error().message);
  for (const auto& t : ctx.trust_errors) report.notes.push_back("trust file skipped: " + t);
  e.rejudge_at = next_rejudge_time(report, ctx.judge.options.thresholds, now);
  e.report = std::move(report);
  e.state = std::move(state);
  return e;
}

}  // namespace

InventoryEntry judge_address(const EndpointContext& ctx, const probe::AddressOutcome& o,
                             int64_t probed_at, int64_t now, int64_t last_success,
                             pki::VerifyCache* cache) {
  const std::string target = endpoint_target(ctx, o.address);
  pki::Report r;
  r.target = target;
  if (!o.chain.empty()) {
    const pki::JudgeOptions opt = ctx.judge.at(now);
    // A chain is judged whenever the handshake delivered one, even if the exchange after it
    // failed: both are true of the endpoint.
    r = pki::judge_chain(target, o.chain, std::nullopt, opt, cache);
    check_stale(ctx, o.chain.front(), r);
  }
  if (!o.ok())
    r.findings.push_back(
        pki::make_finding(ctx.judge.options.policy, probe::finding_id(o.failed), target, o.reason));
  EndpointState s;
  s.endpoint = ctx.name;
  s.address = o.address;
  s.success = o.ok();
  s.tls_version = o.tls_version;
  s.cipher = o.cipher;
  s.duration_seconds = static_cast<double>(o.duration.count()) / 1000.0;
  s.last_success = s.success ? probed_at : last_success;
  s.probed_at = probed_at;
  return finish(ctx, std::move(r), std::move(s), now);
}

InventoryEntry judge_unresolved(const EndpointContext& ctx, const std::string& reason, int64_t now,
                                int64_t last_success) {
  pki::Report r;
  r.target = ctx.name;
  r.findings.push_back(pki::make_finding(
      ctx.judge.options.policy, probe::finding_id(probe::ProbeFailure::resolve), ctx.name, reason));
  EndpointState s;
  s.endpoint = ctx.name;
  s.last_success = last_success;
  s.probed_at = now;
  return finish(ctx, std::move(r), std::move(s), now);
}

}  // namespace certwatch::agent
