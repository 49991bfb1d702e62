#include "pki/judge/lints.h"

#include <openssl/err.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <set>

#include "base/duration.h"
#include "base/idna.h"
#include "pki/judge/expiry.h"
#include "pki/x509/dn.h"

namespace certwatch::pki {
namespace {

using Ctx = LintContext;
using Out = std::optional<LintResult>;

Out hit(std::string message) {
  return LintResult{std::move(message), std::nullopt};
}

std::string date(int64_t t) {
  return format_timestamp(t);
}

std::string span_text(int64_t seconds) {
  if (seconds >= 2 * 86400) return std::to_string(seconds / 86400) + " days";
  if (seconds >= 2 * 3600) return std::to_string(seconds / 3600) + " hours";
  return std::to_string(seconds / 60) + " minutes";
}

bool is_ip_literal(const std::string& s) {
  return normalize_ip(s).ok();
}  // pki/x509/dn.h

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool any(const Ctx&) {
  return true;
}
bool leaf(const Ctx& c) {
  return c.is_leaf;
}
bool ca(const Ctx& c) {
  return c.cert.is_ca() && !c.is_leaf;
}
bool v3(const Ctx& c) {
  return c.cert.version() >= 3;
}
bool not_self_issued(const Ctx& c) {
  return !c.cert.self_issued();
}

// cert.* ---------------------------------------------------------------------------------

Out expired(const Ctx& c) {
  const auto v = c.cert.validity();
  if (c.options.now <= v.not_after) return std::nullopt;
  return hit("expired " + span_text(c.options.now - v.not_after) + " ago (notAfter " +
             date(v.not_after) + ")");
}

Out not_yet_valid(const Ctx& c) {
  const auto v = c.cert.validity();
  if (c.options.now >= v.not_before) return std::nullopt;
  return hit("not valid for another " + span_text(v.not_before - c.options.now) + " (notBefore " +
             date(v.not_before) + ")");
}

Out expires_soon(const Ctx& c) {
  const auto v = c.cert.validity();
  const ExpiryStanding s = expiry_standing(v, c.options.thresholds, c.options.now);
  if (s.state != ExpiryState::expires_soon) return std::nullopt;
  const int64_t left = s.left;
  const ExpiryLimits& lim = s.limits;
  const bool critical = s.critical;
  LintResult r{"expires in " + span_text(left) + " (notAfter " + date(v.not_after) + "; " +
                   (critical ? "critical" : "warning") + " below " +
                   span_text(critical ? lim.critical_seconds : lim.warning_seconds) +
                   " for a lifetime of " + span_text(v.lifetime()) + ")",
               std::nullopt};
  if (critical) r.severity = Severity::critical;
  return r;
}

Out weak_key(const Ctx& c) {
  const PublicKeyInfo k = c.cert.public_key();
  if ((k.type == "RSA" || k.type == "DSA") && k.bits < 2048)
    return hit(k.type + " key of " + std::to_string(k.bits) + " bits (under 2048)");
  if (k.type == "EC" && k.bits < 256)
    return hit("EC key of " + std::to_string(k.bits) + " bits (under 256)");
  return std::nullopt;
}

Out weak_signature(const Ctx& c) {
  int md = NID_undef, pk = NID_undef, bits = 0;
  uint32_t flags = 0;
  if (X509_get_signature_info(c.cert.native(), &md, &pk, &bits, &flags) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  if (md == NID_md5 || md == NID_sha1 || md == NID_md4 || md == NID_md2)
    return hit("signed with " + c.cert.signature_algorithm());
  return std::nullopt;
}

Out outlives_issuer(const Ctx& c) {
  const auto v = c.cert.validity();
  const auto iv = c.issuer->validity();
  if (v.not_after <= iv.not_after) return std::nullopt;
  return hit("valid until " + date(v.not_after) + ", after its issuer '" + c.issuer->subject_cn() +
             "' expires (" + date(iv.not_after) + ")");
}

Out missing_ski(const Ctx& c) {
  if (!c.cert.ski_hex().empty()) return std::nullopt;
  return hit("no subjectKeyIdentifier extension");
}

Out missing_aki(const Ctx& c) {
  if (!c.cert.aki_keyid_hex().empty()) return std::nullopt;
  return hit("no authorityKeyIdentifier key id");
}

Out v1(const Ctx& c) {
  if (c.cert.version() >= 3) return std::nullopt;
  return hit("X.509 version " + std::to_string(c.cert.version()) +
             ": no extensions (no SAN, no basicConstraints, no key usage)");
}

Out bad_serial(const Ctx& c) {
  const ASN1_INTEGER* s = X509_get0_serialNumber(c.cert.native());
  const int len = ASN1_STRING_length(s);
  const unsigned char* d = ASN1_STRING_get0_data(s);
  const bool negative = ASN1_STRING_type(s) == V_ASN1_NEG_INTEGER;
  const bool zero = std::all_of(d, d + len, [](unsigned char b) { return b == 0; });
  if (negative || zero) return hit("serial number " + c.cert.serial_hex() + " is not positive");
  if (len > 20) return hit("serial number is " + std::to_string(len) + " octets (over 20)");
  if (len < 8)
    return hit("serial number " + c.cert.serial_hex() + " is " + std::to_string(len) +
               " octets: under 64 bits of entropy");
  return std::nullopt;
}

// leaf.* ---------------------------------------------------------------------------------

// SANs are what TLS clients match a server against (RFC 9525); a client certificate may go
// without (issue #3: SAN optional for client leaves, as in the seeds). So the lint applies to
// leaves that can act as servers: no EKU at all, or an EKU with serverAuth.
bool server_capable_leaf(const Ctx& c) {
  if (!c.is_leaf || c.options.purpose == Purpose::client) return false;
  if (!c.cert.has_eku()) return true;
  const auto eku = c.cert.eku();
  return std::find(eku.begin(), eku.end(), "serverAuth") != eku.end();
}

Out no_san(const Ctx& c) {
  if (X509_get_ext_by_NID(c.cert.native(), NID_subject_alt_name, -1) >= 0) return std::nullopt;
  return hit("no subjectAltName: clients ignore the CN '" + c.cert.subject_cn() + "'");
}

bool has_host(const Ctx& c) {
  return c.is_leaf && c.options.host.has_value();
}

Out hostname_mismatch(const Ctx& c) {
  const std::string& host = *c.options.host;
  int rc = 0;
  if (is_ip_literal(host)) {
    rc = X509_check_ip_asc(c.cert.native(), host.c_str(), 0);
  } else {
    rc = X509_check_host(c.cert.native(), host.c_str(), host.size(),
                         X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, nullptr);
  }
  ERR_clear_error();
  if (rc == 1) return std::nullopt;
  std::string sans;
  for (const auto& s : c.cert.sans()) sans += (sans.empty() ? "" : ", ") + to_string(s);
  // The host is in A-labels (base/idna.h converted what was typed); people read the U-labels.
  return hit("'" + host_for_display(host) + "' is not among the SANs (" +
             (sans.empty() ? "none" : sans) + ")");
}

bool has_purpose(const Ctx& c) {
  return c.is_leaf && c.options.purpose != Purpose::any;
}

Out purpose_mismatch(const Ctx& c) {
  if (!c.cert.has_eku()) return std::nullopt;
  const auto eku = c.cert.eku();
  const std::string want = c.options.purpose == Purpose::server ? "serverAuth" : "clientAuth";
  if (std::find(eku.begin(), eku.end(), want) != eku.end() ||
      std::find(eku.begin(), eku.end(), "anyExtendedKeyUsage") != eku.end())
    return std::nullopt;
  std::string have;
  for (const auto& e : eku) have += (have.empty() ? "" : ", ") + e;
  return hit("extendedKeyUsage (" + have + ") does not allow " + want);
}

bool rsa_leaf(const Ctx& c) {
  return c.is_leaf && c.options.purpose != Purpose::client && c.cert.public_key().type == "RSA";
}

Out rsa_no_key_encipherment(const Ctx& c) {
  const KeyUsage ku = c.cert.key_usage();
  if (!ku.present || ku.key_encipherment) return std::nullopt;
  return hit(
      "RSA key with keyUsage lacking keyEncipherment: TLS 1.2 RSA key exchange fails on "
      "mbedTLS clients");
}

Out is_ca_leaf(const Ctx& c) {
  if (!c.cert.is_ca()) return std::nullopt;
  return hit("the leaf is a CA certificate (basicConstraints CA:TRUE)");
}

Out duplicate_san(const Ctx& c) {
  std::set<std::string> seen, dups;
  for (const auto& s : c.cert.sans()) {
    std::string key = lower(to_string(s));
    if (!seen.insert(key).second) dups.insert(to_string(s));
  }
  if (dups.empty()) return std::nullopt;
  std::string list;
  for (const auto& d : dups) list += (list.empty() ? "" : ", ") + d;
  return hit("listed more than once: " + list);
}

Out long_validity(const Ctx& c) {
  const int64_t days = c.cert.validity().lifetime() / 86400;
  if (days <= 398) return std::nullopt;
  return hit("valid for " + std::to_string(days) + " days (over 398)");
}

Out ip_in_dns_san(const Ctx& c) {
  for (const auto& s : c.cert.sans())
    if (s.type == SubjectAltName::Type::dns && is_ip_literal(s.value))
      return hit("DNS:" + s.value + " is an IP address; clients match IPs against IP SANs only");
  return std::nullopt;
}

// ca.* -----------------------------------------------------------------------------------

Out bc_not_critical(const Ctx& c) {
  if (c.cert.basic_constraints_critical()) return std::nullopt;
  return hit("basicConstraints CA:TRUE is not marked critical");
}

Out no_key_cert_sign(const Ctx& c) {
  const KeyUsage ku = c.cert.key_usage();
  if (!ku.present || ku.key_cert_sign) return std::nullopt;
  return hit("keyUsage lacks keyCertSign: it may not sign certificates");
}

bool intermediate(const Ctx& c) {
  return ca(c) && !c.cert.self_issued();
}

Out no_path_len(const Ctx& c) {
  if (c.cert.path_len()) return std::nullopt;
  return hit("no pathLenConstraint: it may sign further CAs");
}

bool on_path_ca(const Ctx& c) {
  return ca(c) && c.on_path;
}

Out path_len_exceeded(const Ctx& c) {
  const auto pl = c.cert.path_len();
  if (!pl || c.intermediates_below <= *pl) return std::nullopt;
  return hit("pathLenConstraint " + std::to_string(*pl) + " but " +
             std::to_string(c.intermediates_below) + " CA(s) below it on the path");
}

bool has_issuer(const Ctx& c) {
  return c.issuer != nullptr;
}
bool v3_not_self_issued(const Ctx& c) {
  return v3(c) && not_self_issued(c);
}

constexpr Lint kLints[] = {
    {"cert.expired", any, expired},
    {"cert.not_yet_valid", any, not_yet_valid},
    {"cert.expires_soon", any, expires_soon},
    {"cert.weak_key", any, weak_key},
    {"cert.weak_signature", not_self_issued, weak_signature},
    {"cert.outlives_issuer", has_issuer, outlives_issuer},
    {"cert.missing_ski", v3, missing_ski},
    {"cert.missing_aki", v3_not_self_issued, missing_aki},
    {"cert.v1", any, v1},
    {"cert.bad_serial", any, bad_serial},
    {"leaf.no_san", server_capable_leaf, no_san},
    {"leaf.hostname_mismatch", has_host, hostname_mismatch},
    {"leaf.purpose_mismatch", has_purpose, purpose_mismatch},
    {"leaf.rsa_no_key_encipherment", rsa_leaf, rsa_no_key_encipherment},
    {"leaf.is_ca", leaf, is_ca_leaf},
    {"leaf.duplicate_san", leaf, duplicate_san},
    {"leaf.long_validity", leaf, long_validity},
    {"leaf.ip_in_dns_san", leaf, ip_in_dns_san},
    {"ca.basic_constraints_not_critical", ca, bc_not_critical},
    {"ca.no_key_cert_sign", ca, no_key_cert_sign},
    {"ca.no_path_len", intermediate, no_path_len},
    {"ca.path_len_exceeded", on_path_ca, path_len_exceeded},
};

// How a certificate was issued (serial entropy, criticality, key identifiers): nobody can
// change that on a self-signed trust anchor, so there it is information, not a warning.
// Expiry and weak crypto keep their severity.
bool issuance_practice(std::string_view id) {
  return id == "cert.bad_serial" || id == "ca.basic_constraints_not_critical" ||
         id == "cert.missing_ski" || id == "cert.missing_aki" || id == "ca.no_path_len";
}

}  // namespace

std::span<const Lint> all_lints() {
  return kLints;
}

std::vector<Finding> run_lints(const LintContext& ctx, const std::string& target) {
  std::vector<Finding> out;
  for (const Lint& lint : kLints) {
    if (!lint.applies(ctx)) continue;
    auto r = lint.check(ctx);
    if (!r) continue;
    Finding f = make_finding(ctx.options.policy, lint.id, target, std::move(r->message));
    if (r->severity) f.severity = *r->severity;
    // "root": self-signed, at the end of the path or in a bundle (pki/verify/chain.cpp's roles).
    if (ctx.role == CertRole::root && issuance_practice(lint.id)) {
      f.severity = Severity::info;
      f.message += " (self-signed trust anchor: informational)";
    }
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace certwatch::pki
