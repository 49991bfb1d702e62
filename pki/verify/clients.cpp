#include "pki/verify/clients.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <functional>

#include "base/json.h"
#include "pki/verify/chain.h"

namespace certwatch::pki {
namespace {

constexpr std::array<std::string_view, 4> kFamilies{"openssl", "gnutls", "go", "mbedtls"};

ClientVerdict accept(std::string_view family) {
  return ClientVerdict{std::string(family), true, ""};
}
ClientVerdict reject(std::string_view family, std::string reason) {
  return ClientVerdict{std::string(family), false, std::move(reason)};
}

std::string name_of(const Certificate& c) {
  const std::string cn = c.subject_cn();
  return "'" + (cn.empty() ? c.subject() : cn) + "'";
}

bool names_issuer(const Certificate& child, const Certificate& parent) {
  return X509_NAME_cmp(X509_get_issuer_name(child.native()),
                       X509_get_subject_name(parent.native())) == 0;
}

bool weak_digest(const Certificate& c) {
  const int md = signature_digest(c);
  return md == NID_sha1 || md == NID_md5 || md == NID_md4 || md == NID_md2;
}

bool time_ok(const Certificate& c, int64_t now) {
  const Validity v = c.validity();
  return v.not_before <= now && now <= v.not_after;
}

// No EKU means any; anyExtendedKeyUsage allows everything.
bool eku_allows_server(const Certificate& c) {
  if (!c.has_eku()) return true;
  const auto eku = c.eku();
  return std::find(eku.begin(), eku.end(), "serverAuth") != eku.end() ||
         std::find(eku.begin(), eku.end(), "anyExtendedKeyUsage") != eku.end();
}

bool may_sign_certs(const Certificate& c) {
  const KeyUsage ku = c.key_usage();
  return c.is_ca() && (!ku.present || ku.key_cert_sign);
}

// RFC 6125 matching on the leaf; `subject_fallback`: the CN counts when no DNS SAN exists
// (OpenSSL, GnuTLS, mbedTLS), never (Go since 1.15).
bool host_matches(const Certificate& leaf, const std::string& host, bool subject_fallback) {
  int rc = X509_check_ip_asc(leaf.native(), host.c_str(), 0);  // -2: not an IP literal
  if (rc == -2)
    rc = X509_check_host(leaf.native(), host.c_str(), host.size(),
                         subject_fallback ? 0u : X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, nullptr);
  ERR_clear_error();
  return rc == 1;
}

std::string host_reason(const std::string& host) {
  return "the leaf does not name '" + host + "'";
}

// OpenSSL: X509_verify_cert exactly as s_client runs it (purpose sslserver, the host in the
// verify parameters, auth level 2 = Debian's SECLEVEL=2: SHA-1 signatures below the anchor
// and RSA keys under 2048 bits fail).
ClientVerdict openssl_client(const ClientContext& c) {
  constexpr std::string_view f = "openssl";
  X509Stack stack(sk_X509_new_null());
  UniquePtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  if (!stack || !ctx) return reject(f, "out of memory");
  for (const auto& x : c.served) {
    X509* up = up_ref(x.native()).release();
    if (sk_X509_push(stack.get(), up) <= 0) X509_free(up);
  }
  if (X509_STORE_CTX_init(ctx.get(), c.trust->store(), c.served.front().native(), stack.get()) !=
      1) {
    ERR_clear_error();
    return reject(f, "cannot set up verification");
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(c.now));
  X509_VERIFY_PARAM_set_auth_level(param, 2);
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER);
  if (c.host) {
    if (X509_VERIFY_PARAM_set1_ip_asc(param, c.host->c_str()) != 1)
      X509_VERIFY_PARAM_set1_host(param, c.host->c_str(), c.host->size());
  }
  const int rc = X509_verify_cert(ctx.get());
  const int err = X509_STORE_CTX_get_error(ctx.get());
  ERR_clear_error();
  if (rc == 1 && err == X509_V_OK) return accept(f);
  return reject(f, verify_error_name(err) + " (" + X509_verify_cert_error_string(err) +
                       ") at depth " + std::to_string(X509_STORE_CTX_get_error_depth(ctx.get())));
}

// The first anchor that issued `child` (name and signature), or nullptr.
const Certificate* anchor_for(const Certificate& child, const TrustIndex& trust) {
  for (int t : trust.by_subject(X509_get_issuer_name(child.native()))) {
    const Certificate& a = trust.certs()[static_cast<size_t>(t)];
    if (child.signed_by(a)) return &a;
  }
  return nullptr;
}

bool is_anchor(const Certificate& c, const TrustIndex& trust) {
  for (int t : trust.by_subject(X509_get_subject_name(c.native())))
    if (trust.certs()[static_cast<size_t>(t)].same_as(c)) return true;
  return false;
}

// An anchor with the subject and the public key of `c` (another certificate of the same CA).
bool same_key_as_anchor(const Certificate& c, const TrustIndex& trust) {
  for (int t : trust.by_subject(X509_get_subject_name(c.native())))
    if (trust.certs()[static_cast<size_t>(t)].spki_sha256_hex() == c.spki_sha256_hex()) return true;
  return false;
}

// Checks shared by GnuTLS and Go on a path (leaf first, anchor last): validity of every
// certificate, SHA-1 below the anchor, CA flags of issuers, EKU (serverAuth) on every
// certificate that carries one.
std::optional<std::string> path_problem(const std::vector<const Certificate*>& path, int64_t now,
                                        bool anchor_eku) {
  for (size_t i = 0; i < path.size(); ++i) {
    const Certificate& x = *path[i];
    const bool anchor = i + 1 == path.size();
    if (!time_ok(x, now)) return name_of(x) + " is expired or not yet valid";
    if (!anchor && weak_digest(x)) return name_of(x) + " is signed with SHA-1 (insecure algorithm)";
    if (i > 0 && !may_sign_certs(x))
      return name_of(x) + " may not sign certificates (CA flag or keyCertSign)";
    if ((!anchor || anchor_eku) && !eku_allows_server(x))
      return name_of(x) + " has an EKU without serverAuth";
  }
  return std::nullopt;
}

// GnuTLS 3.7: the served list is sorted from the first certificate by issuer names (extras
// and duplicates fall away), cut at the first certificate that is itself trusted, and the
// last one must be issued by an anchor.
ClientVerdict gnutls_client(const ClientContext& c) {
  constexpr std::string_view f = "gnutls";
  std::vector<const Certificate*> path{&c.served.front()};
  std::vector<bool> used(c.served.size(), false);
  used[0] = true;
  for (;;) {
    const Certificate& cur = *path.back();
    if (is_anchor(cur, *c.trust) || cur.self_issued()) break;
    bool found = false;
    for (size_t i = 0; i < c.served.size() && !found; ++i) {
      if (used[i] || !names_issuer(cur, c.served[i])) continue;
      used[i] = found = true;
      path.push_back(&c.served[i]);
    }
    if (!found) break;
  }
  // Cut at a certificate the trust list holds (it ends the path as the anchor). Past the
  // leaf, one with an anchor's name and key is cut with everything after it, and the path
  // goes on from the anchor (_gnutls_verify_crt_status, _gnutls_check_if_same_key): a served
  // cross-signed copy or link certificate of a trusted root is not followed.
  for (size_t i = 0; i < path.size(); ++i) {
    if (is_anchor(*path[i], *c.trust)) {
      path.resize(i + 1);
      break;
    }
    if (i > 0 && same_key_as_anchor(*path[i], *c.trust)) {
      path.resize(i);
      break;
    }
  }
  if (!is_anchor(*path.back(), *c.trust)) {
    const Certificate* a = anchor_for(*path.back(), *c.trust);
    if (a == nullptr)
      return reject(f, "no trusted issuer for " + name_of(*path.back()) + " (signer not found)");
    path.push_back(a);
  }
  for (size_t i = 0; i + 1 < path.size(); ++i)
    if (!path[i]->signed_by(*path[i + 1]))
      return reject(f, name_of(*path[i]) + " is not signed by " + name_of(*path[i + 1]));
  if (auto p = path_problem(path, c.now, true)) return reject(f, *p);
  const KeyUsage ku = path.front()->key_usage();
  if (ku.present && !ku.digital_signature)
    return reject(f, "the leaf's keyUsage lacks digitalSignature (key usage violation)");
  if (c.host && !host_matches(*path.front(), *c.host, true)) return reject(f, host_reason(*c.host));
  return accept(f);
}

// Go 1.19 crypto/x509: the rest of the served list is an unordered pool; any path to an
// anchor will do (depth first, first success wins). SHA-1 signatures are rejected, key usage
// on issuers must allow certSign, the leaf's key usage is ignored, EKU is checked on every
// certificate of the path, including the anchor.
ClientVerdict go_client(const ClientContext& c) {
  constexpr std::string_view f = "go";
  std::string why = "no path to a trusted root (x509: certificate signed by unknown authority)";
  std::vector<const Certificate*> path{&c.served.front()};
  std::function<bool()> extend = [&]() -> bool {
    const Certificate& cur = *path.back();
    if (path.size() > 12) return false;
    std::vector<std::pair<const Certificate*, bool>> candidates;  // (cert, is anchor)
    for (int t : c.trust->by_subject(X509_get_issuer_name(cur.native())))
      candidates.emplace_back(&c.trust->certs()[static_cast<size_t>(t)], true);
    for (size_t i = 1; i < c.served.size(); ++i)
      if (names_issuer(cur, c.served[i])) candidates.emplace_back(&c.served[i], false);
    for (const auto& [cand, anchor] : candidates) {
      if (std::find(path.begin(), path.end(), cand) != path.end() || !cur.signed_by(*cand))
        continue;
      path.push_back(cand);
      if (anchor) {
        if (auto p = path_problem(path, c.now, true))
          why = *p;
        else
          return true;
      } else if (extend()) {
        return true;
      }
      path.pop_back();
    }
    return false;
  };
  if (!extend()) return reject(f, why);
  if (c.host && !host_matches(c.served.front(), *c.host, false))
    return reject(f, host_reason(*c.host));
  return accept(f);
}

}  // namespace

int signature_digest(const Certificate& c) {
  int md = NID_undef, pk = NID_undef, bits = 0;
  uint32_t flags = 0;
  if (X509_get_signature_info(c.native(), &md, &pk, &bits, &flags) != 1) {
    ERR_clear_error();
    return NID_undef;
  }
  return md;
}

void write_json_fields(JsonWriter& w, const ClientVerdict& v) {
  w.key("family").value(v.family).key("accepts").value(v.accepts).key("reason").value(v.reason);
}

void write_json_clients(JsonWriter& w, std::span<const ClientVerdict> verdicts) {
  if (verdicts.empty()) return;
  w.key("clients").begin_array();
  for (const auto& v : verdicts) {
    w.begin_object();
    write_json_fields(w, v);
    w.end_object();
  }
  w.end_array();
}

std::span<const std::string_view> client_families() {
  return kFamilies;
}

bool is_client_family(std::string_view family) {
  return std::find(kFamilies.begin(), kFamilies.end(), family) != kFamilies.end();
}

ClientVerdict predict_client(std::string_view family, const ClientContext& ctx) {
  if (ctx.served.empty() || ctx.trust == nullptr) return reject(family, "no certificate served");
  if (family == "openssl") return openssl_client(ctx);
  if (family == "gnutls") return gnutls_client(ctx);
  if (family == "go") return go_client(ctx);
  if (family == "mbedtls") return predict_mbedtls(ctx);
  return reject(family, "unknown client family");
}

std::vector<Finding> client_findings(std::span<const ClientVerdict> verdicts,
                                     const SeverityPolicy& policy, const std::string& target) {
  std::vector<Finding> out;
  for (const auto& v : verdicts)
    if (!v.accepts)
      out.push_back(make_finding(policy, "client." + v.family + ".rejects", target,
                                 v.family + " clients reject the served chain: " + v.reason));
  return out;
}

}  // namespace certwatch::pki
