// mbedTLS 2.28's client verdict (library/x509_crt.c x509_crt_verify_chain, ssl_cli.c and
// ssl_msg.c), as a TLS 1.2 client with MBEDTLS_SSL_VERIFY_REQUIRED, the default certificate
// profile and max_fragment_length 4096, which is how small devices configure it.
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <algorithm>

#include "pki/verify/chain.h"
#include "pki/verify/clients.h"

namespace certwatch::pki {
namespace {

constexpr std::string_view kFamily = "mbedtls";
constexpr int kMaxIntermediates = 8;  // MBEDTLS_X509_MAX_INTERMEDIATE_CA

std::string quoted(const Certificate& c) {
  const std::string cn = c.subject_cn();
  return "'" + (cn.empty() ? c.subject() : cn) + "'";
}

// mbedtls_x509_crt_profile_default: SHA-256 and up, RSA from 2048 bits, every curve.
bool md_allowed(const Certificate& c) {
  const int md = signature_digest(c);
  return md == NID_undef || md == NID_sha256 || md == NID_sha384 || md == NID_sha512 ||
         md == NID_sha224;
}

bool key_allowed(const Certificate& c) {
  const PublicKeyInfo k = c.public_key();
  if (k.type == "RSA") return k.bits >= 2048;
  return k.type == "EC";  // mbedTLS 2.28 has no Ed25519/Ed448 certificates
}

bool valid_at(const Certificate& c, int64_t now) {
  const Validity v = c.validity();
  return v.not_before <= now && now <= v.not_after;
}

// x509_crt_check_parent: the name, the CA bit (not asked of a v1 trusted root) and
// keyCertSign when keyUsage is present.
bool may_be_parent(const Certificate& child, const Certificate& parent, bool top) {
  if (X509_NAME_cmp(X509_get_issuer_name(child.native()), X509_get_subject_name(parent.native())) !=
      0)
    return false;
  const bool need_ca_bit = !(top && parent.version() < 3);
  if (!need_ca_bit) return true;
  if (!parent.is_ca()) return false;
  const KeyUsage ku = parent.key_usage();
  return !ku.present || ku.key_cert_sign;
}

// x509_crt_find_parent_in: the first candidate whose signature verifies and that is valid
// now; else the first whose signature verifies.
const Certificate* find_parent_in(const Certificate& child,
                                  const std::vector<const Certificate*>& candidates, bool top,
                                  int64_t now) {
  const Certificate* fallback = nullptr;
  for (const Certificate* p : candidates) {
    if (!may_be_parent(child, *p, top) || !child.signed_by(*p)) continue;
    if (valid_at(*p, now)) return p;
    if (fallback == nullptr) fallback = p;
  }
  return fallback;
}

// mbedTLS 2.28 matches the host against DNS SANs only (no IP SANs), or the CN without SANs.
bool name_matches(const Certificate& leaf, const std::string& host) {
  if (X509_get_ext_by_NID(leaf.native(), NID_subject_alt_name, -1) < 0)
    return leaf.subject_cn() == host;
  for (const auto& s : leaf.sans()) {
    if (s.type != SubjectAltName::Type::dns) continue;
    if (s.value == host) return true;
    if (s.value.rfind("*.", 0) == 0) {
      const auto dot = host.find('.');
      if (dot != std::string::npos && host.substr(dot) == s.value.substr(1)) return true;
    }
  }
  return false;
}

ClientVerdict no(std::string why) {
  return ClientVerdict{std::string(kFamily), false, std::move(why)};
}

}  // namespace

ClientVerdict predict_mbedtls(const ClientContext& c) {
  // The Certificate handshake message must fit one record: mbedTLS 2.28 does not reassemble
  // TLS handshake messages split over records ("TLS handshake fragmentation not supported").
  size_t message = 4 + 3;
  for (const auto& x : c.served) message += 3 + x.der().size();
  if (message > c.mbedtls_record_bytes)
    return no("the Certificate message is " + std::to_string(message) + " bytes, over the " +
              std::to_string(c.mbedtls_record_bytes) +
              "-byte record (handshake fragmentation not supported)");

  const Certificate& leaf = c.served.front();
  if (!key_allowed(leaf))
    return no("the leaf's key " + leaf.key_description() + " is not allowed (BADCERT_BAD_KEY)");
  std::vector<const Certificate*> anchors;
  for (const auto& a : c.trust->certs()) anchors.push_back(&a);
  const Certificate* child = &c.served.front();
  size_t child_pos = 0;
  bool child_trusted = false;
  for (int depth = 0;; ++depth) {
    if (!valid_at(*child, c.now))
      return no(quoted(*child) + " is expired or not yet valid (BADCERT_EXPIRED/FUTURE)");
    if (child_trusted) break;
    if (!md_allowed(*child))
      return no(quoted(*child) + " is signed with " + child->signature_algorithm() +
                " (BADCERT_BAD_MD)");
    if (depth > kMaxIntermediates) return no("more than 8 intermediate CAs");
    const Certificate* parent = find_parent_in(*child, anchors, true, c.now);
    child_trusted = parent != nullptr;
    size_t parent_pos = 0;
    if (parent == nullptr) {
      // Only the certificates after the child in the served list are searched.
      std::vector<const Certificate*> after;
      for (size_t i = child_pos + 1; i < c.served.size(); ++i) after.push_back(&c.served[i]);
      parent = find_parent_in(*child, after, false, c.now);
      if (parent == nullptr)
        return no("no issuer of " + quoted(*child) +
                  " among the trusted CAs or after it in the served list (BADCERT_NOT_TRUSTED)");
      parent_pos = static_cast<size_t>(parent - c.served.data());
    }
    if (!key_allowed(*parent))
      return no(quoted(*parent) + "'s key " + parent->key_description() +
                " is not allowed (BADCERT_BAD_KEY)");
    child = parent;
    child_pos = parent_pos;
  }
  // ssl_check_cert_usage for the ECDHE suites a 2.28 client offers first.
  const KeyUsage ku = leaf.key_usage();
  if (ku.present && !ku.digital_signature)
    return no("the leaf's keyUsage lacks digitalSignature, needed by ECDHE (BADCERT_KEY_USAGE)");
  if (leaf.has_eku()) {
    const auto eku = leaf.eku();
    if (std::find(eku.begin(), eku.end(), "serverAuth") == eku.end() &&
        std::find(eku.begin(), eku.end(), "anyExtendedKeyUsage") == eku.end())
      return no("the leaf's EKU lacks serverAuth (BADCERT_EXT_KEY_USAGE)");
  }
  if (c.host && !name_matches(leaf, *c.host))
    return no("the leaf does not name '" + *c.host + "' (BADCERT_CN_MISMATCH)");
  return ClientVerdict{std::string(kFamily), true, ""};
}

}  // namespace certwatch::pki
