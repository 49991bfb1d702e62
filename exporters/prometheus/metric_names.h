// Every fixed metric certwatch exports, in one place so names stay greppable and stable
// (../shared/DESIGN.md: extend, never rename). Each is a MetricDef: name, type, HELP and label
// names in the order Family::add() expects the values. Register them with
// Registry::gauge(def) / Registry::counter(def).
//
// Label rules (x509-certificate-exporter #18/#244, blackbox #1119): per-certificate gauges
// carry only the bounded kCertLabels; long or unbounded values (full DNs, SAN lists) appear
// only in certwatch_cert_info, whose value is always 1. The fingerprint is the one exception
// outside it: certwatch_finding carries fingerprint_sha256 (a function of its source, target
// and index, so it adds no series) because the shipped rules alert once per certificate and a
// finding has no value to join with. Expiry is an absolute timestamp; PromQL computes time
// left:
//   certwatch_cert_not_after_timestamp_seconds - time()
// and the rules join it to its fingerprint through certwatch_cert_info on
// (instance, source, target, index).
#pragma once

#include <string_view>

#include "exporters/prometheus/metrics.h"

namespace certwatch::exporters::metric_names {

// Label values used across families.
//   source: the kind of source that saw the target: "file" (a watched file), "endpoint" (a
//           probed host:port) or "ledger" (a certificate the built-in issuer gave out)
//   target: the file path or host:port, as in Finding::target without "#index"
//   index:  position of the certificate in the file or served chain, "0" first ("" on a
//           finding about the whole target)
//   role:   "leaf", "intermediate", "root" (a self-signed CA) or "unrelated" (a certificate
//           on no path from the leaf), as pki::CertRecord::role says
//   serial: upper-case hex, no separators (pki::Certificate::serial_hex)
inline constexpr std::string_view kSourceFile = "file";
inline constexpr std::string_view kSourceEndpoint = "endpoint";
inline constexpr std::string_view kSourceLedger = "ledger";

inline constexpr std::string_view kCertLabels[] = {"source",     "target",    "index", "role",
                                                   "subject_cn", "issuer_cn", "serial"};
inline constexpr std::string_view kCertInfoLabels[] = {"source",
                                                       "target",
                                                       "index",
                                                       "role",
                                                       "subject_cn",
                                                       "issuer_cn",
                                                       "serial",
                                                       "subject",
                                                       "issuer",
                                                       "sans",
                                                       "fingerprint_sha256",
                                                       "public_key",
                                                       "signature_algorithm"};
// source/target/index as on the certificate series, so PromQL joins a finding to its
// certificate with on(source, target, index); index is "" for a finding about the whole target.
// fingerprint_sha256: the certificate at that index (as on certwatch_cert_info), "" when the
// finding names none; the rules count a certificate's own findings once by it, whatever
// places hold the certificate.
inline constexpr std::string_view kFindingLabels[] = {"source", "target",   "index",
                                                      "id",     "severity", "fingerprint_sha256"};
inline constexpr std::string_view kTargetLabels[] = {"source", "target"};
inline constexpr std::string_view kBuildInfoLabels[] = {"version", "openssl_version"};
inline constexpr std::string_view kClientLabels[] = {"source", "target", "family"};
// An endpoint's probe series: target is "host:port [address]", the inventory target of one
// address; endpoint ("host:port") and address group them.
inline constexpr std::string_view kProbeLabels[] = {"source", "target", "endpoint", "address"};
inline constexpr std::string_view kProbeTlsLabels[] = {"source",  "target",      "endpoint",
                                                       "address", "tls_version", "cipher"};
inline constexpr std::string_view kResultLabels[] = {"result"};

// ---- per certificate ----
inline constexpr MetricDef kCertNotAfter{
    "certwatch_cert_not_after_timestamp_seconds", MetricType::gauge,
    "Expiry (notAfter) of the certificate, in seconds since the Unix epoch. Exported even when "
    "verification fails.",
    kCertLabels};
inline constexpr MetricDef kCertNotBefore{
    "certwatch_cert_not_before_timestamp_seconds", MetricType::gauge,
    "Start of validity (notBefore) of the certificate, in seconds since the Unix epoch.",
    kCertLabels};
inline constexpr MetricDef kCertInfo{
    "certwatch_cert_info", MetricType::gauge,
    "Descriptive labels of the certificate (full names, SANs, SHA-256 fingerprint); always 1.",
    kCertInfoLabels};

// ---- per target ----
inline constexpr MetricDef kFinding{
    "certwatch_finding", MetricType::gauge,
    "One series per active finding (see the finding catalogue); always 1 while it is active.",
    kFindingLabels};
inline constexpr MetricDef kChainValid{
    "certwatch_chain_valid", MetricType::gauge,
    "1 if the target's chain is complete, in order and verifies to a trusted anchor, else 0.",
    kTargetLabels};
inline constexpr MetricDef kTargetCertificates{"certwatch_target_certificates", MetricType::gauge,
                                               "Number of certificates found in the target.",
                                               kTargetLabels};

// ---- self ----
inline constexpr MetricDef kScanDuration{
    "certwatch_scan_duration_seconds",
    MetricType::gauge,
    "Wall time of the last full scan (initial scan, rescan or reload), in seconds.",
    {}};
inline constexpr MetricDef kLastScan{
    "certwatch_last_scan_timestamp_seconds",
    MetricType::gauge,
    "Time the last full scan finished, in seconds since the Unix epoch.",
    {}};
inline constexpr MetricDef kScans{
    "certwatch_scans_total", MetricType::counter, "Full scans completed since start.", {}};
inline constexpr MetricDef kFilesWatched{
    "certwatch_files_watched",
    MetricType::gauge,
    "Files currently watched (every file under the watch paths, readable or not).",
    {}};
inline constexpr MetricDef kDirectoriesWatched{
    "certwatch_directories_watched", MetricType::gauge, "Directories with an inotify watch.", {}};
inline constexpr MetricDef kCertificates{"certwatch_certificates",
                                         MetricType::gauge,
                                         "Certificates in the inventory, over all targets.",
                                         {}};
inline constexpr MetricDef kReadErrors{
    "certwatch_read_errors_total",
    MetricType::counter,
    "Reads of watched files that failed (unreadable, malformed or changing while read).",
    {}};
inline constexpr MetricDef kConfigReloadSuccess{
    "certwatch_config_last_reload_successful",
    MetricType::gauge,
    "1 if the last configuration (re)load succeeded, 0 if the agent kept the previous one.",
    {}};
inline constexpr MetricDef kConfigReloadTimestamp{
    "certwatch_config_last_reload_success_timestamp_seconds",
    MetricType::gauge,
    "Time of the last successful configuration load, in seconds since the Unix epoch.",
    {}};
inline constexpr MetricDef kBuildInfo{
    "certwatch_build_info", MetricType::gauge,
    "Version of certwatch and of the OpenSSL library it runs with; always 1.", kBuildInfoLabels};

// Every definition above, in the order the agent registers (and renders) them.
inline constexpr MetricDef kClientAccepts{
    "certwatch_client_accepts", MetricType::gauge,
    "1 if clients of the family (openssl, gnutls, go, mbedtls) would accept the target's chain, "
    "else 0; only for targets with clients: configured.",
    kClientLabels};

inline constexpr MetricDef kProbeSuccess{
    "certwatch_probe_success", MetricType::gauge,
    "1 if the last probe of the endpoint address connected, completed the TLS handshake and the "
    "protocol exchange, else 0.",
    kProbeLabels};
inline constexpr MetricDef kProbeDuration{
    "certwatch_probe_duration_seconds", MetricType::gauge,
    "Wall time of the last probe of the endpoint address (connect, handshake, exchange).",
    kProbeLabels};
inline constexpr MetricDef kProbeTls{"certwatch_probe_tls_info", MetricType::gauge,
                                     "TLS version and cipher the endpoint address negotiated in "
                                     "its last completed handshake; always 1.",
                                     kProbeTlsLabels};
inline constexpr MetricDef kProbeLastSuccess{"certwatch_probe_last_success_timestamp_seconds",
                                             MetricType::gauge,
                                             "Time of the last successful probe of the endpoint "
                                             "address (absent: none since the agent started).",
                                             kProbeLabels};
inline constexpr MetricDef kProbes{
    "certwatch_probes_total", MetricType::counter,
    "Probes of endpoint addresses finished, by result (success, failure).", kResultLabels};
inline constexpr MetricDef kEndpoints{
    "certwatch_endpoints", MetricType::gauge, "Endpoints configured (endpoints: entries).", {}};

// Renewal (issue #11), per managed certificate (`name` as in managed[].name).
inline constexpr std::string_view kRenewalLabels[] = {"name"};
inline constexpr MetricDef kRenewalNext{
    "certwatch_renewal_next_timestamp_seconds", MetricType::gauge,
    "When the next renewal attempt of the managed certificate is due (after backoff on failures).",
    kRenewalLabels};
inline constexpr MetricDef kRenewalLastSuccess{"certwatch_renewal_last_success_timestamp_seconds",
                                               MetricType::gauge,
                                               "When the managed certificate was last renewed, "
                                               "deployed and proven served (0: never since start).",
                                               kRenewalLabels};
inline constexpr MetricDef kRenewals{"certwatch_renewals_total", MetricType::counter,
                                     "Renewal transactions finished, by result (success, failure).",
                                     kResultLabels};

inline constexpr MetricDef kRenewalFailures{
    "certwatch_renewal_failures", MetricType::gauge,
    "Consecutive failed renewal attempts of the managed certificate (0 after a success).",
    kRenewalLabels};
inline constexpr MetricDef kRenewalServed{
    "certwatch_renewal_served", MetricType::gauge,
    "1 when the server was last seen serving the deployed leaf of the managed certificate, 0 "
    "when it served another one (absent: nothing to ask).",
    kRenewalLabels};

inline constexpr MetricDef kAll[] = {kCertNotAfter,
                                     kCertNotBefore,
                                     kCertInfo,
                                     kFinding,
                                     kChainValid,
                                     kTargetCertificates,
                                     kScanDuration,
                                     kLastScan,
                                     kScans,
                                     kFilesWatched,
                                     kDirectoriesWatched,
                                     kCertificates,
                                     kReadErrors,
                                     kConfigReloadSuccess,
                                     kConfigReloadTimestamp,
                                     kBuildInfo,
                                     kClientAccepts,
                                     kProbeSuccess,
                                     kProbeDuration,
                                     kProbeTls,
                                     kProbeLastSuccess,
                                     kProbes,
                                     kEndpoints,
                                     kRenewalNext,
                                     kRenewalLastSuccess,
                                     kRenewals,
                                     kRenewalFailures,
                                     kRenewalServed};

}  // namespace certwatch::exporters::metric_names
