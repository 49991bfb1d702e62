#include "agent/metrics/agent_metrics.h"

#include <openssl/crypto.h>
#include <utility>

#include <array>
#include <stdexcept>

#include "exporters/gzip.h"
#include "exporters/prometheus/metric_names.h"

namespace certwatch::agent {
namespace mn = exporters::metric_names;
namespace {

template <class R>
auto must(R r) {
  // The definitions are ours and fixed; a failure here is a programming error caught by any
  // test that builds an AgentMetrics.
  if (!r.ok()) throw std::logic_error("metric registration: " + r.error().message);
  return r.value();
}

// The bounded per-certificate label values, in kCertLabels order. `index` must outlive use.
std::array<std::string_view, 7> cert_labels(std::string_view source, const std::string& target,
                                            const std::string& index, const pki::CertRecord& c) {
  return {source, target, index, to_string(c.role), c.subject_cn, c.issuer_cn, c.serial};
}

// The fingerprint of the certificate a finding names ("" when none). Add and remove both derive
// it from the entry they are given, so a finding's series is removed with exactly the labels it
// was added with.
std::string_view finding_fingerprint(const InventoryEntry& e, const std::string& target,
                                     const pki::Finding& f) {
  const pki::CertRecord* c = named_certificate(e, target, f.target);
  return c != nullptr ? std::string_view(c->sha256) : std::string_view();
}

}  // namespace

bool chain_valid(const InventoryEntry& e) {
  if (!e.report.trusted || e.certs.empty()) return false;
  for (const auto& f : e.report.findings)
    if (f.id.rfind("chain.", 0) == 0 && f.severity == pki::Severity::critical) return false;
  return true;
}

AgentMetrics::AgentMetrics()
    : not_after_(must(registry_.gauge(mn::kCertNotAfter))),
      not_before_(must(registry_.gauge(mn::kCertNotBefore))),
      info_(must(registry_.gauge(mn::kCertInfo))),
      finding_(must(registry_.gauge(mn::kFinding))),
      chain_valid_(must(registry_.gauge(mn::kChainValid))),
      target_certs_(must(registry_.gauge(mn::kTargetCertificates))),
      scan_duration_(must(registry_.gauge(mn::kScanDuration))),
      last_scan_(must(registry_.gauge(mn::kLastScan))),
      scans_(must(registry_.counter(mn::kScans))),
      files_(must(registry_.gauge(mn::kFilesWatched))),
      dirs_(must(registry_.gauge(mn::kDirectoriesWatched))),
      certificates_(must(registry_.gauge(mn::kCertificates))),
      read_errors_(must(registry_.counter(mn::kReadErrors))),
      reload_ok_(must(registry_.gauge(mn::kConfigReloadSuccess))),
      reload_ts_(must(registry_.gauge(mn::kConfigReloadTimestamp))),
      build_info_(must(registry_.gauge(mn::kBuildInfo))),
      client_accepts_(must(registry_.gauge(mn::kClientAccepts))),
      probe_success_(must(registry_.gauge(mn::kProbeSuccess))),
      probe_duration_(must(registry_.gauge(mn::kProbeDuration))),
      probe_tls_(must(registry_.gauge(mn::kProbeTls))),
      probe_last_success_(must(registry_.gauge(mn::kProbeLastSuccess))),
      probes_(must(registry_.counter(mn::kProbes))),
      endpoints_(must(registry_.gauge(mn::kEndpoints))),
      renewal_next_(must(registry_.gauge(mn::kRenewalNext))),
      renewal_last_success_(must(registry_.gauge(mn::kRenewalLastSuccess))),
      renewals_(must(registry_.counter(mn::kRenewals))),
      renewal_failures_(must(registry_.gauge(mn::kRenewalFailures))),
      renewal_served_(must(registry_.gauge(mn::kRenewalServed))) {
  build_info_->add({CERTWATCH_VERSION, OpenSSL_version(OPENSSL_VERSION_STRING)}).set(1);
  // Self metrics exist from the start, so dashboards and promtool see them before a scan.
  scans_->add({});
  read_errors_->add({});
  files_->add({});
  dirs_->add({});
  certificates_->add({});
  probes_->add({"success"});
  probes_->add({"failure"});
  endpoints_->add({});
  renewals_->add({"success"});
  renewals_->add({"failure"});
}

void AgentMetrics::update_target(const TargetId& target, const InventoryEntry* old,
                                 const InventoryEntry* fresh) {
  const std::string_view source = to_string(target.source);
  if (old != nullptr) remove_entry(target.id, source, *old);
  if (fresh != nullptr) add_entry(target.id, source, *fresh);
  changed();
}

namespace {

bool key_only(const InventoryEntry& e) {
  return e.certs.empty() && e.report.key.has_value();
}

// Calls fn(labels, info_labels) with the label values of one certificate's series; the
// views point into locals that live for the call.
template <class Fn>
void with_cert_labels(std::string_view source, const std::string& target, const pki::CertRecord& c,
                      Fn&& fn) {
  const std::string index = std::to_string(c.index);
  const auto labels = cert_labels(source, target, index, c);
  const std::string sans = pki::join_sans(c.sans);
  const std::array<std::string_view, 13> info = {
      source,    target,   index, to_string(c.role), c.subject_cn, c.issuer_cn,          c.serial,
      c.subject, c.issuer, sans,  c.sha256,          c.key_type,   c.signature_algorithm};
  fn(labels, info);
}

}  // namespace

void AgentMetrics::add_entry(const std::string& target, std::string_view source,
                             const InventoryEntry& e) {
  for (const auto& cp : e.certs) {
    const pki::CertRecord& c = *cp;
    with_cert_labels(source, target, c, [&](const auto& labels, const auto& info) {
      not_after_->add(labels).set(static_cast<double>(c.not_after));
      not_before_->add(labels).set(static_cast<double>(c.not_before));
      info_->add(info).set(1);
    });
  }
  for (const auto& f : e.report.findings) {
    const auto [t, index] = split_finding_target(target, f.target);
    finding_
        ->add(
            {source, t, index, f.id, pki::to_string(f.severity), finding_fingerprint(e, target, f)})
        .set(1);
  }
  if (key_only(e)) return;  // a key file has findings, but no chain to be valid or not
  chain_valid_->add({source, target}).set(chain_valid(e) ? 1 : 0);
  target_certs_->add({source, target}).set(static_cast<double>(e.certs.size()));
  for (const auto& v : e.report.clients)
    client_accepts_->add({source, target, v.family}).set(v.accepts ? 1 : 0);
  if (const EndpointState* p = e.endpoint()) {
    const std::array<std::string_view, 4> labels = {source, target, p->endpoint, p->address};
    probe_success_->add(labels).set(p->success ? 1 : 0);
    probe_duration_->add(labels).set(p->duration_seconds);
    if (!p->tls_version.empty())
      probe_tls_->add({source, target, p->endpoint, p->address, p->tls_version, p->cipher}).set(1);
    if (p->last_success != 0)
      probe_last_success_->add(labels).set(static_cast<double>(p->last_success));
  }
}

void AgentMetrics::remove_entry(const std::string& target, std::string_view source,
                                const InventoryEntry& e) {
  for (const auto& cp : e.certs) {
    with_cert_labels(source, target, *cp, [&](const auto& labels, const auto& info) {
      not_after_->remove(labels);
      not_before_->remove(labels);
      info_->remove(info);
    });
  }
  for (const auto& f : e.report.findings) {
    const auto [t, index] = split_finding_target(target, f.target);
    finding_->remove(
        {source, t, index, f.id, pki::to_string(f.severity), finding_fingerprint(e, target, f)});
  }
  chain_valid_->remove({source, target});
  target_certs_->remove({source, target});
  for (const auto& v : e.report.clients) client_accepts_->remove({source, target, v.family});
  if (const EndpointState* p = e.endpoint()) {
    const std::array<std::string_view, 4> labels = {source, target, p->endpoint, p->address};
    probe_success_->remove(labels);
    probe_duration_->remove(labels);
    if (!p->tls_version.empty())
      probe_tls_->remove({source, target, p->endpoint, p->address, p->tls_version, p->cipher});
    probe_last_success_->remove(labels);
  }
}

void AgentMetrics::probes_finished(std::size_t successes, std::size_t failures) {
  if (successes != 0) probes_->add({"success"}).increment(static_cast<double>(successes));
  if (failures != 0) probes_->add({"failure"}).increment(static_cast<double>(failures));
  changed();
}

void AgentMetrics::set_endpoints(std::size_t n) {
  endpoints_->add({}).set(static_cast<double>(n));
  changed();
}

void AgentMetrics::scan_finished(double duration_seconds, int64_t finished_at) {
  scan_duration_->add({}).set(duration_seconds);
  last_scan_->add({}).set(static_cast<double>(finished_at));
  scans_->add({}).increment();
  changed();
}

void AgentMetrics::set_files_watched(std::size_t n) {
  files_->add({}).set(static_cast<double>(n));
  changed();
}

void AgentMetrics::set_directories_watched(std::size_t n) {
  dirs_->add({}).set(static_cast<double>(n));
  changed();
}

void AgentMetrics::set_certificates(std::size_t n) {
  certificates_->add({}).set(static_cast<double>(n));
  changed();
}

void AgentMetrics::add_read_errors(std::size_t n) {
  read_errors_->add({}).increment(static_cast<double>(n));
  changed();
}

void AgentMetrics::config_loaded(bool ok, int64_t at) {
  reload_ok_->add({}).set(ok ? 1 : 0);
  if (ok) reload_ts_->add({}).set(static_cast<double>(at));
  changed();
}

void AgentMetrics::set_renewal(const std::string& name, int64_t next_at, int64_t last_success,
                               int failures, int served) {
  renewal_next_->add({name}).set(static_cast<double>(next_at));
  renewal_last_success_->add({name}).set(static_cast<double>(last_success));
  renewal_failures_->add({name}).set(failures);
  if (served >= 0)
    renewal_served_->add({name}).set(served);
  else
    renewal_served_->remove_where("name", name);
  changed();
}

void AgentMetrics::remove_renewal(const std::string& name) {
  renewal_next_->remove_where("name", name);
  renewal_last_success_->remove_where("name", name);
  renewal_failures_->remove_where("name", name);
  renewal_served_->remove_where("name", name);
  changed();
}

void AgentMetrics::renewal_finished(bool ok) {
  renewals_->add({ok ? "success" : "failure"}).increment();
  changed();
}

const std::string& AgentMetrics::gzipped() {
  if (gzip_generation_ != generation_) {
    auto gz = exporters::gzip_compress(registry_.render());
    gzip_ = gz ? std::move(*gz) : std::string();
    gzip_.shrink_to_fit();
    gzip_generation_ = generation_;
  }
  return gzip_;
}

}  // namespace certwatch::agent
