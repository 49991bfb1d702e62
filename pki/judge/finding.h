// The finding catalogue: the shared language of the CLI, metrics, MQTT alerts and the API.
// Ids are contracts (../shared/DESIGN.md): add to the catalogue, never rename.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace certwatch::pki {

// Named ids of the catalogue, so that code says fid::chain_order and a typo does not compile.
// finding.cpp builds the catalogue from these constants and checks at compile time that
// kAllIds lists the catalogue's ids in its order: a row without a constant cannot be added.
namespace fid {
inline constexpr std::string_view chain_leaf_not_first = "chain.leaf_not_first";
inline constexpr std::string_view chain_order = "chain.order";
inline constexpr std::string_view chain_incomplete = "chain.incomplete";
inline constexpr std::string_view chain_untrusted = "chain.untrusted";
inline constexpr std::string_view chain_contains_root = "chain.contains_root";
inline constexpr std::string_view chain_duplicate = "chain.duplicate";
inline constexpr std::string_view chain_extra = "chain.extra";
inline constexpr std::string_view chain_ambiguous_issuer = "chain.ambiguous_issuer";
inline constexpr std::string_view chain_too_large = "chain.too_large";
inline constexpr std::string_view chain_verify_failed = "chain.verify_failed";
inline constexpr std::string_view chain_no_end_entity = "chain.no_end_entity";
inline constexpr std::string_view client_openssl_rejects = "client.openssl.rejects";
inline constexpr std::string_view client_gnutls_rejects = "client.gnutls.rejects";
inline constexpr std::string_view client_go_rejects = "client.go.rejects";
inline constexpr std::string_view client_mbedtls_rejects = "client.mbedtls.rejects";
inline constexpr std::string_view cert_expired = "cert.expired";
inline constexpr std::string_view cert_not_yet_valid = "cert.not_yet_valid";
inline constexpr std::string_view cert_expires_soon = "cert.expires_soon";
inline constexpr std::string_view cert_weak_key = "cert.weak_key";
inline constexpr std::string_view cert_weak_signature = "cert.weak_signature";
inline constexpr std::string_view cert_outlives_issuer = "cert.outlives_issuer";
inline constexpr std::string_view cert_missing_ski = "cert.missing_ski";
inline constexpr std::string_view cert_missing_aki = "cert.missing_aki";
inline constexpr std::string_view cert_v1 = "cert.v1";
inline constexpr std::string_view cert_bad_serial = "cert.bad_serial";
inline constexpr std::string_view leaf_no_san = "leaf.no_san";
inline constexpr std::string_view leaf_hostname_mismatch = "leaf.hostname_mismatch";
inline constexpr std::string_view leaf_purpose_mismatch = "leaf.purpose_mismatch";
inline constexpr std::string_view leaf_rsa_no_key_encipherment = "leaf.rsa_no_key_encipherment";
inline constexpr std::string_view leaf_is_ca = "leaf.is_ca";
inline constexpr std::string_view leaf_duplicate_san = "leaf.duplicate_san";
inline constexpr std::string_view leaf_long_validity = "leaf.long_validity";
inline constexpr std::string_view leaf_ip_in_dns_san = "leaf.ip_in_dns_san";
inline constexpr std::string_view ca_basic_constraints_not_critical =
    "ca.basic_constraints_not_critical";
inline constexpr std::string_view ca_no_key_cert_sign = "ca.no_key_cert_sign";
inline constexpr std::string_view ca_no_path_len = "ca.no_path_len";
inline constexpr std::string_view ca_path_len_exceeded = "ca.path_len_exceeded";
inline constexpr std::string_view key_mismatch = "key.mismatch";
inline constexpr std::string_view key_encrypted = "key.encrypted";
inline constexpr std::string_view key_permissions = "key.permissions";
inline constexpr std::string_view endpoint_unreachable = "endpoint.unreachable";
inline constexpr std::string_view endpoint_handshake_failed = "endpoint.handshake_failed";
inline constexpr std::string_view endpoint_protocol_failed = "endpoint.protocol_failed";
inline constexpr std::string_view endpoint_stale = "endpoint.stale";
inline constexpr std::string_view renewal_failed = "renewal.failed";
inline constexpr std::string_view renewal_overdue = "renewal.overdue";
inline constexpr std::string_view input_unreadable = "input.unreadable";
inline constexpr std::string_view input_malformed = "input.malformed";
inline constexpr std::string_view input_no_certificates = "input.no_certificates";
inline constexpr std::string_view input_too_complex = "input.too_complex";

inline constexpr std::string_view kAllIds[] = {
    chain_leaf_not_first,
    chain_order,
    chain_incomplete,
    chain_untrusted,
    chain_contains_root,
    chain_duplicate,
    chain_extra,
    chain_ambiguous_issuer,
    chain_too_large,
    chain_verify_failed,
    chain_no_end_entity,
    client_openssl_rejects,
    client_gnutls_rejects,
    client_go_rejects,
    client_mbedtls_rejects,
    cert_expired,
    cert_not_yet_valid,
    cert_expires_soon,
    cert_weak_key,
    cert_weak_signature,
    cert_outlives_issuer,
    cert_missing_ski,
    cert_missing_aki,
    cert_v1,
    cert_bad_serial,
    leaf_no_san,
    leaf_hostname_mismatch,
    leaf_purpose_mismatch,
    leaf_rsa_no_key_encipherment,
    leaf_is_ca,
    leaf_duplicate_san,
    leaf_long_validity,
    leaf_ip_in_dns_san,
    ca_basic_constraints_not_critical,
    ca_no_key_cert_sign,
    ca_no_path_len,
    ca_path_len_exceeded,
    key_mismatch,
    key_encrypted,
    key_permissions,
    endpoint_unreachable,
    endpoint_handshake_failed,
    endpoint_protocol_failed,
    endpoint_stale,
    renewal_failed,
    renewal_overdue,
    input_unreadable,
    input_malformed,
    input_no_certificates,
    input_too_complex,
};
}  // namespace fid

// Ordered by how bad: worst() relies on it. `unknown` is input that could not be read; for
// exit codes it ranks between warning and critical (Nagios: 3 only when nothing is critical).
enum class Severity { info = 0, warning = 1, unknown = 2, critical = 3 };

std::string_view to_string(Severity s);
std::optional<Severity> severity_from_string(std::string_view s);

struct FindingKind {
  std::string_view id;
  Severity default_severity;
  std::string_view summary;   // one line, for --help, the status page and docs
  std::string_view citation;  // RFC section, seed or field note the rule comes from
};

// Every id, in catalogue order.
std::span<const FindingKind> catalogue();
const FindingKind* find_kind(std::string_view id);

struct Finding {
  std::string id;
  Severity severity = Severity::warning;
  std::string target;   // file path, "path#index" for one certificate, or host:port
  std::string message;  // never contains key material

  bool operator==(const Finding&) const = default;
};

// Per-id severity overrides from config or CLI. Unknown ids are rejected by the caller.
class SeverityPolicy {
 public:
  Severity severity_of(std::string_view id) const;
  void set(std::string id, Severity s) { overrides_[std::move(id)] = s; }

 private:
  std::map<std::string, Severity, std::less<>> overrides_;
};

// Makes a finding with the policy's severity for its id. Asserts that the id is catalogued.
Finding make_finding(const SeverityPolicy& policy, std::string_view id, std::string target,
                     std::string message);

// The finding of a file that could not be loaded (pki::FileInput::loaded's error): an I/O
// failure is input.unreadable, anything else input.malformed. The one place that maps them.
std::string_view input_finding_id(const certwatch::Error& e);

// Nagios exit code for a set of findings: 0 nothing worse than info, 1 warning, 2 critical,
// 3 unknown when nothing is critical.
int nagios_exit_code(std::span<const Finding> findings);

}  // namespace certwatch::pki
