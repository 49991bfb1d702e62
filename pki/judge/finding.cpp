#include "pki/judge/finding.h"

#include <array>
#include <cassert>

namespace certwatch::pki {
namespace {

using S = Severity;

// Default severities follow DESIGN.md. cert.expires_soon's default is the warning level; the
// judge raises it to critical by threshold.
constexpr std::array kCatalogue{
    FindingKind{fid::chain_leaf_not_first, S::critical,
                "the first certificate is not the leaf (the key's certificate) or is a CA",
                "RFC 8446 4.4.2; Mosquitto refuses to start"},
    FindingKind{fid::chain_order, S::critical,
                "an issuer stands before its child in the chain file",
                "RFC 5246 7.4.2; mbedTLS clients reject it"},
    FindingKind{fid::chain_incomplete, S::critical,
                "an intermediate between the leaf and a trust anchor is missing", "RFC 5280 6.1"},
    FindingKind{fid::chain_untrusted, S::critical, "the path ends at a root that is not trusted",
                "RFC 5280 6.1"},
    FindingKind{fid::chain_contains_root, S::info, "the chain file includes the trust anchor",
                "RFC 8446 4.4.2 (may be omitted)"},
    FindingKind{fid::chain_duplicate, S::warning, "a certificate appears more than once", ""},
    FindingKind{fid::chain_extra, S::warning, "a certificate that is not on the path", ""},
    FindingKind{fid::chain_ambiguous_issuer, S::warning,
                "two candidate issuers could sign the same child",
                "OpenSSL does not backtrack between same-name issuers"},
    FindingKind{fid::chain_too_large, S::warning,
                "chain depth or size over budget for small devices", "field notes"},
    FindingKind{fid::chain_verify_failed, S::critical, "OpenSSL verification failed",
                "X509_V_ERR_*"},
    FindingKind{fid::chain_no_end_entity, S::critical,
                "a server's or client's certificate file (--purpose/--host given) holds only CA "
                "certificates",
                "RFC 8446 4.4.2: the first certificate is the peer's identity"},

    // One per family of pki/verify/clients.h: the real client of that family would refuse the
    // chain.
    FindingKind{fid::client_openssl_rejects, S::critical,
                "OpenSSL 3 clients reject the served chain", "tests/integration/clients_test.cpp"},
    FindingKind{fid::client_gnutls_rejects, S::critical,
                "GnuTLS 3.7 clients reject the served chain", "tests/integration/clients_test.cpp"},
    FindingKind{fid::client_go_rejects, S::critical,
                "Go crypto/x509 clients reject the served chain",
                "tests/integration/clients_test.cpp"},
    FindingKind{fid::client_mbedtls_rejects, S::critical,
                "mbedTLS 2.28 clients (small devices) reject the served chain",
                "tests/integration/clients_test.cpp"},

    FindingKind{fid::cert_expired, S::critical, "the certificate has expired", "RFC 5280 4.1.2.5"},
    FindingKind{fid::cert_not_yet_valid, S::critical, "the certificate is not valid yet",
                "RFC 5280 4.1.2.5"},
    FindingKind{fid::cert_expires_soon, S::warning,
                "less than the warning (or critical) threshold of lifetime is left", ""},
    FindingKind{fid::cert_weak_key, S::warning, "RSA under 2048 bits or an EC curve under 256 bits",
                "NIST SP 800-57"},
    FindingKind{fid::cert_weak_signature, S::warning, "signed with MD5 or SHA-1", "RFC 6194"},
    FindingKind{fid::cert_outlives_issuer, S::warning, "valid longer than its issuer",
                "field notes: never let a leaf outlive its issuer"},
    FindingKind{fid::cert_missing_ski, S::info, "no subjectKeyIdentifier", "RFC 5280 4.2.1.2"},
    FindingKind{fid::cert_missing_aki, S::info, "no authorityKeyIdentifier", "RFC 5280 4.2.1.1"},
    FindingKind{fid::cert_v1, S::warning, "X.509 version 1 certificate (no extensions)",
                "RFC 5280 4.1.2.1"},
    FindingKind{fid::cert_bad_serial, S::warning,
                "serial number not positive, longer than 20 octets, or under 64 bits of entropy",
                "RFC 5280 4.1.2.2; CA/B BR 7.1"},

    FindingKind{fid::leaf_no_san, S::warning, "no subjectAltName: clients match SANs only",
                "RFC 9525 6.3"},
    FindingKind{fid::leaf_hostname_mismatch, S::critical, "the host name is not in the SANs",
                "RFC 9525"},
    FindingKind{fid::leaf_purpose_mismatch, S::critical,
                "extendedKeyUsage does not allow the purpose",
                "RFC 5280 4.2.1.12; OpenSSL error 26"},
    FindingKind{fid::leaf_rsa_no_key_encipherment, S::warning,
                "RSA leaf without keyEncipherment: mbedTLS refuses RSA key exchange",
                "RFC 5246 7.4.2; seed 001 section 10"},
    FindingKind{fid::leaf_is_ca, S::warning, "a CA certificate used as a leaf", "RFC 5280 4.2.1.9"},
    FindingKind{fid::leaf_duplicate_san, S::info, "the same SAN is listed twice", "seed 001"},
    FindingKind{fid::leaf_long_validity, S::info, "leaf valid for more than 398 days",
                "CA/B BR 6.3.2"},
    FindingKind{fid::leaf_ip_in_dns_san, S::warning, "an IP address written as a DNS SAN",
                "RFC 5280 4.2.1.6"},

    FindingKind{fid::ca_basic_constraints_not_critical, S::warning,
                "CA basicConstraints not marked critical", "RFC 5280 4.2.1.9"},
    FindingKind{fid::ca_no_key_cert_sign, S::critical, "CA without keyCertSign",
                "RFC 5280 4.2.1.3"},
    FindingKind{fid::ca_no_path_len, S::info, "intermediate CA without pathLenConstraint",
                "seed 001"},
    FindingKind{fid::ca_path_len_exceeded, S::critical,
                "more CAs below than pathLenConstraint allows", "RFC 5280 6.1.4"},

    FindingKind{fid::key_mismatch, S::critical, "the private key does not belong to the leaf", ""},
    FindingKind{fid::key_encrypted, S::info, "the key is encrypted and cannot be compared", ""},
    FindingKind{fid::key_permissions, S::warning, "the private key is readable by group or others",
                ""},

    FindingKind{fid::endpoint_unreachable, S::critical, "cannot connect to the endpoint", ""},
    FindingKind{fid::endpoint_handshake_failed, S::critical, "the TLS handshake failed", ""},
    FindingKind{fid::endpoint_protocol_failed, S::critical,
                "the exchange after the handshake (MQTT CONNECT/CONNACK) failed", ""},
    FindingKind{fid::endpoint_stale, S::critical,
                "the server serves another certificate than the file that should back it", ""},

    FindingKind{fid::renewal_failed, S::critical, "the last renewal attempt failed", ""},
    FindingKind{fid::renewal_overdue, S::warning, "renewal is past its due time", ""},

    FindingKind{fid::input_unreadable, S::unknown, "the file cannot be read", ""},
    FindingKind{fid::input_malformed, S::unknown, "the file cannot be parsed", ""},
    FindingKind{fid::input_no_certificates, S::unknown, "the file holds no certificate", ""},
    FindingKind{fid::input_too_complex, S::unknown,
                "the file exceeds a bound of the judge (certificates, issuer candidates or "
                "signature checks); only part of it was judged",
                "README.md, Security"},
};

}  // namespace

// The named ids and the catalogue are one list: same length, same ids, same order.
constexpr bool ids_match_catalogue() {
  if (std::size(fid::kAllIds) != kCatalogue.size()) return false;
  for (size_t i = 0; i < kCatalogue.size(); ++i) {
    if (fid::kAllIds[i] != kCatalogue[i].id) return false;
  }
  return true;
}
static_assert(ids_match_catalogue(), "pki::fid::kAllIds and the catalogue differ");

std::string_view to_string(Severity s) {
  switch (s) {
    case Severity::info:
      return "info";
    case Severity::warning:
      return "warning";
    case Severity::critical:
      return "critical";
    case Severity::unknown:
      return "unknown";
  }
  return "unknown";
}

std::optional<Severity> severity_from_string(std::string_view s) {
  if (s == "info") return Severity::info;
  if (s == "warning") return Severity::warning;
  if (s == "critical") return Severity::critical;
  if (s == "unknown") return Severity::unknown;
  return std::nullopt;
}

std::span<const FindingKind> catalogue() {
  return kCatalogue;
}

const FindingKind* find_kind(std::string_view id) {
  for (const auto& k : kCatalogue) {
    if (k.id == id) return &k;
  }
  return nullptr;
}

Severity SeverityPolicy::severity_of(std::string_view id) const {
  if (auto it = overrides_.find(id); it != overrides_.end()) return it->second;
  const FindingKind* k = find_kind(id);
  assert(k != nullptr && "finding id not in the catalogue");
  return k != nullptr ? k->default_severity : Severity::warning;
}

Finding make_finding(const SeverityPolicy& policy, std::string_view id, std::string target,
                     std::string message) {
  return Finding{std::string(id), policy.severity_of(id), std::move(target), std::move(message)};
}

std::string_view input_finding_id(const certwatch::Error& e) {
  return e.kind == ErrorKind::io ? fid::input_unreadable : fid::input_malformed;
}

int nagios_exit_code(std::span<const Finding> findings) {
  bool warning = false, unknown = false;
  for (const auto& f : findings) {
    switch (f.severity) {
      case Severity::critical:
        return 2;
      case Severity::unknown:
        unknown = true;
        break;
      case Severity::warning:
        warning = true;
        break;
      case Severity::info:
        break;
    }
  }
  if (unknown) return 3;
  return warning ? 1 : 0;
}

}  // namespace certwatch::pki
