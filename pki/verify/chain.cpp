#include "pki/verify/chain.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <utility>

#include <algorithm>
#include <array>
#include <set>

namespace certwatch::pki {
namespace {

struct ErrorName {
  int code;
  const char* name;
};

constexpr ErrorName kErrorNames[] = {
    {X509_V_OK, "X509_V_OK"},
    {X509_V_ERR_UNSPECIFIED, "X509_V_ERR_UNSPECIFIED"},
    {X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT"},
    {X509_V_ERR_UNABLE_TO_GET_CRL, "X509_V_ERR_UNABLE_TO_GET_CRL"},
    {X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE, "X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE"},
    {X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE, "X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE"},
    {X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY,
     "X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY"},
    {X509_V_ERR_CERT_SIGNATURE_FAILURE, "X509_V_ERR_CERT_SIGNATURE_FAILURE"},
    {X509_V_ERR_CRL_SIGNATURE_FAILURE, "X509_V_ERR_CRL_SIGNATURE_FAILURE"},
    {X509_V_ERR_CERT_NOT_YET_VALID, "X509_V_ERR_CERT_NOT_YET_VALID"},
    {X509_V_ERR_CERT_HAS_EXPIRED, "X509_V_ERR_CERT_HAS_EXPIRED"},
    {X509_V_ERR_CRL_NOT_YET_VALID, "X509_V_ERR_CRL_NOT_YET_VALID"},
    {X509_V_ERR_CRL_HAS_EXPIRED, "X509_V_ERR_CRL_HAS_EXPIRED"},
    {X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD, "X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD"},
    {X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD, "X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD"},
    {X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD, "X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD"},
    {X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD, "X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD"},
    {X509_V_ERR_OUT_OF_MEM, "X509_V_ERR_OUT_OF_MEM"},
    {X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, "X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT"},
    {X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, "X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN"},
    {X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY"},
    {X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE, "X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE"},
    {X509_V_ERR_CERT_CHAIN_TOO_LONG, "X509_V_ERR_CERT_CHAIN_TOO_LONG"},
    {X509_V_ERR_CERT_REVOKED, "X509_V_ERR_CERT_REVOKED"},
    {X509_V_ERR_NO_ISSUER_PUBLIC_KEY, "X509_V_ERR_NO_ISSUER_PUBLIC_KEY"},
    {X509_V_ERR_PATH_LENGTH_EXCEEDED, "X509_V_ERR_PATH_LENGTH_EXCEEDED"},
    {X509_V_ERR_INVALID_PURPOSE, "X509_V_ERR_INVALID_PURPOSE"},
    {X509_V_ERR_CERT_UNTRUSTED, "X509_V_ERR_CERT_UNTRUSTED"},
    {X509_V_ERR_CERT_REJECTED, "X509_V_ERR_CERT_REJECTED"},
    {X509_V_ERR_SUBJECT_ISSUER_MISMATCH, "X509_V_ERR_SUBJECT_ISSUER_MISMATCH"},
    {X509_V_ERR_AKID_SKID_MISMATCH, "X509_V_ERR_AKID_SKID_MISMATCH"},
    {X509_V_ERR_AKID_ISSUER_SERIAL_MISMATCH, "X509_V_ERR_AKID_ISSUER_SERIAL_MISMATCH"},
    {X509_V_ERR_KEYUSAGE_NO_CERTSIGN, "X509_V_ERR_KEYUSAGE_NO_CERTSIGN"},
    {X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER, "X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER"},
    {X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION, "X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION"},
    {X509_V_ERR_KEYUSAGE_NO_CRL_SIGN, "X509_V_ERR_KEYUSAGE_NO_CRL_SIGN"},
    {X509_V_ERR_UNHANDLED_CRITICAL_CRL_EXTENSION, "X509_V_ERR_UNHANDLED_CRITICAL_CRL_EXTENSION"},
    {X509_V_ERR_INVALID_NON_CA, "X509_V_ERR_INVALID_NON_CA"},
    {X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED, "X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED"},
    {X509_V_ERR_KEYUSAGE_NO_DIGITAL_SIGNATURE, "X509_V_ERR_KEYUSAGE_NO_DIGITAL_SIGNATURE"},
    {X509_V_ERR_PROXY_CERTIFICATES_NOT_ALLOWED, "X509_V_ERR_PROXY_CERTIFICATES_NOT_ALLOWED"},
    {X509_V_ERR_INVALID_EXTENSION, "X509_V_ERR_INVALID_EXTENSION"},
    {X509_V_ERR_INVALID_POLICY_EXTENSION, "X509_V_ERR_INVALID_POLICY_EXTENSION"},
    {X509_V_ERR_NO_EXPLICIT_POLICY, "X509_V_ERR_NO_EXPLICIT_POLICY"},
    {X509_V_ERR_DIFFERENT_CRL_SCOPE, "X509_V_ERR_DIFFERENT_CRL_SCOPE"},
    {X509_V_ERR_UNSUPPORTED_EXTENSION_FEATURE, "X509_V_ERR_UNSUPPORTED_EXTENSION_FEATURE"},
    {X509_V_ERR_UNNESTED_RESOURCE, "X509_V_ERR_UNNESTED_RESOURCE"},
    {X509_V_ERR_PERMITTED_VIOLATION, "X509_V_ERR_PERMITTED_VIOLATION"},
    {X509_V_ERR_EXCLUDED_VIOLATION, "X509_V_ERR_EXCLUDED_VIOLATION"},
    {X509_V_ERR_SUBTREE_MINMAX, "X509_V_ERR_SUBTREE_MINMAX"},
    {X509_V_ERR_APPLICATION_VERIFICATION, "X509_V_ERR_APPLICATION_VERIFICATION"},
    {X509_V_ERR_UNSUPPORTED_CONSTRAINT_TYPE, "X509_V_ERR_UNSUPPORTED_CONSTRAINT_TYPE"},
    {X509_V_ERR_UNSUPPORTED_CONSTRAINT_SYNTAX, "X509_V_ERR_UNSUPPORTED_CONSTRAINT_SYNTAX"},
    {X509_V_ERR_UNSUPPORTED_NAME_SYNTAX, "X509_V_ERR_UNSUPPORTED_NAME_SYNTAX"},
    {X509_V_ERR_CRL_PATH_VALIDATION_ERROR, "X509_V_ERR_CRL_PATH_VALIDATION_ERROR"},
    {X509_V_ERR_PATH_LOOP, "X509_V_ERR_PATH_LOOP"},
    {X509_V_ERR_SUITE_B_INVALID_VERSION, "X509_V_ERR_SUITE_B_INVALID_VERSION"},
    {X509_V_ERR_SUITE_B_INVALID_ALGORITHM, "X509_V_ERR_SUITE_B_INVALID_ALGORITHM"},
    {X509_V_ERR_SUITE_B_INVALID_CURVE, "X509_V_ERR_SUITE_B_INVALID_CURVE"},
    {X509_V_ERR_SUITE_B_INVALID_SIGNATURE_ALGORITHM,
     "X509_V_ERR_SUITE_B_INVALID_SIGNATURE_ALGORITHM"},
    {X509_V_ERR_SUITE_B_LOS_NOT_ALLOWED, "X509_V_ERR_SUITE_B_LOS_NOT_ALLOWED"},
    {X509_V_ERR_SUITE_B_CANNOT_SIGN_P_384_WITH_P_256,
     "X509_V_ERR_SUITE_B_CANNOT_SIGN_P_384_WITH_P_256"},
    {X509_V_ERR_HOSTNAME_MISMATCH, "X509_V_ERR_HOSTNAME_MISMATCH"},
    {X509_V_ERR_EMAIL_MISMATCH, "X509_V_ERR_EMAIL_MISMATCH"},
    {X509_V_ERR_IP_ADDRESS_MISMATCH, "X509_V_ERR_IP_ADDRESS_MISMATCH"},
    {X509_V_ERR_DANE_NO_MATCH, "X509_V_ERR_DANE_NO_MATCH"},
    {X509_V_ERR_EE_KEY_TOO_SMALL, "X509_V_ERR_EE_KEY_TOO_SMALL"},
    {X509_V_ERR_CA_KEY_TOO_SMALL, "X509_V_ERR_CA_KEY_TOO_SMALL"},
    {X509_V_ERR_CA_MD_TOO_WEAK, "X509_V_ERR_CA_MD_TOO_WEAK"},
    {X509_V_ERR_INVALID_CALL, "X509_V_ERR_INVALID_CALL"},
    {X509_V_ERR_STORE_LOOKUP, "X509_V_ERR_STORE_LOOKUP"},
    {X509_V_ERR_NO_VALID_SCTS, "X509_V_ERR_NO_VALID_SCTS"},
    {X509_V_ERR_PROXY_SUBJECT_NAME_VIOLATION, "X509_V_ERR_PROXY_SUBJECT_NAME_VIOLATION"},
    {X509_V_ERR_OCSP_VERIFY_NEEDED, "X509_V_ERR_OCSP_VERIFY_NEEDED"},
    {X509_V_ERR_OCSP_VERIFY_FAILED, "X509_V_ERR_OCSP_VERIFY_FAILED"},
    {X509_V_ERR_OCSP_CERT_UNKNOWN, "X509_V_ERR_OCSP_CERT_UNKNOWN"},
    {X509_V_ERR_UNSUPPORTED_SIGNATURE_ALGORITHM, "X509_V_ERR_UNSUPPORTED_SIGNATURE_ALGORITHM"},
    {X509_V_ERR_SIGNATURE_ALGORITHM_MISMATCH, "X509_V_ERR_SIGNATURE_ALGORITHM_MISMATCH"},
    {X509_V_ERR_SIGNATURE_ALGORITHM_INCONSISTENCY, "X509_V_ERR_SIGNATURE_ALGORITHM_INCONSISTENCY"},
    {X509_V_ERR_INVALID_CA, "X509_V_ERR_INVALID_CA"},
    {X509_V_ERR_PATHLEN_INVALID_FOR_NON_CA, "X509_V_ERR_PATHLEN_INVALID_FOR_NON_CA"},
    {X509_V_ERR_PATHLEN_WITHOUT_KU_KEY_CERT_SIGN, "X509_V_ERR_PATHLEN_WITHOUT_KU_KEY_CERT_SIGN"},
    {X509_V_ERR_KU_KEY_CERT_SIGN_INVALID_FOR_NON_CA,
     "X509_V_ERR_KU_KEY_CERT_SIGN_INVALID_FOR_NON_CA"},
    {X509_V_ERR_ISSUER_NAME_EMPTY, "X509_V_ERR_ISSUER_NAME_EMPTY"},
    {X509_V_ERR_SUBJECT_NAME_EMPTY, "X509_V_ERR_SUBJECT_NAME_EMPTY"},
    {X509_V_ERR_MISSING_AUTHORITY_KEY_IDENTIFIER, "X509_V_ERR_MISSING_AUTHORITY_KEY_IDENTIFIER"},
    {X509_V_ERR_MISSING_SUBJECT_KEY_IDENTIFIER, "X509_V_ERR_MISSING_SUBJECT_KEY_IDENTIFIER"},
    {X509_V_ERR_EMPTY_SUBJECT_ALT_NAME, "X509_V_ERR_EMPTY_SUBJECT_ALT_NAME"},
    {X509_V_ERR_EMPTY_SUBJECT_SAN_NOT_CRITICAL, "X509_V_ERR_EMPTY_SUBJECT_SAN_NOT_CRITICAL"},
    {X509_V_ERR_CA_BCONS_NOT_CRITICAL, "X509_V_ERR_CA_BCONS_NOT_CRITICAL"},
    {X509_V_ERR_AUTHORITY_KEY_IDENTIFIER_CRITICAL, "X509_V_ERR_AUTHORITY_KEY_IDENTIFIER_CRITICAL"},
    {X509_V_ERR_SUBJECT_KEY_IDENTIFIER_CRITICAL, "X509_V_ERR_SUBJECT_KEY_IDENTIFIER_CRITICAL"},
    {X509_V_ERR_CA_CERT_MISSING_KEY_USAGE, "X509_V_ERR_CA_CERT_MISSING_KEY_USAGE"},
    {X509_V_ERR_EXTENSIONS_REQUIRE_VERSION_3, "X509_V_ERR_EXTENSIONS_REQUIRE_VERSION_3"},
    {X509_V_ERR_EC_KEY_EXPLICIT_PARAMS, "X509_V_ERR_EC_KEY_EXPLICIT_PARAMS"},
};

}  // namespace

std::string verify_error_name(int code) {
  for (const auto& e : kErrorNames)
    if (e.code == code) return e.name;
  return "X509_V_ERR_" + std::to_string(code);
}

TrustIndex::TrustIndex(std::span<const Certificate> trust) : store_(X509_STORE_new()) {
  std::set<std::string> seen;
  for (const auto& given : trust) {
    // The store hands anchors to OpenSSL's path building as issuers: keys decoded.
    const Certificate c = given.with_key_decoded();
    std::string sha = c.sha256_hex();
    if (!seen.insert(sha).second) continue;
    const int idx = static_cast<int>(certs_.size());
    int ok = 0;
    const unsigned long h =
        X509_NAME_hash_ex(X509_get_subject_name(c.native()), nullptr, nullptr, &ok);
    by_hash_.emplace(ok == 1 ? h : 0, idx);
    if (store_ && X509_STORE_add_cert(store_.get(), c.native()) != 1) ERR_clear_error();
    by_object_.emplace(c.native(), idx);
    certs_.push_back(c);
    sha256_.push_back(std::move(sha));
  }
}

std::vector<int> TrustIndex::by_subject(const X509_NAME* name) const {
  std::vector<int> out;
  int ok = 0;
  const unsigned long h = X509_NAME_hash_ex(name, nullptr, nullptr, &ok);
  auto [lo, hi] = by_hash_.equal_range(ok == 1 ? h : 0);
  for (auto it = lo; it != hi; ++it) {
    if (X509_NAME_cmp(name, X509_get_subject_name(certs_[it->second].native())) == 0)
      out.push_back(it->second);
  }
  std::sort(out.begin(), out.end());
  return out;
}

const Certificate* TrustIndex::find(const X509* x) const {
  auto it = by_object_.find(x);
  return it == by_object_.end() ? nullptr : &certs_[static_cast<size_t>(it->second)];
}

namespace {

// What the verify function needs besides the X509_STORE_CTX (set as its app data): the cache,
// and the Certificates whose X509 objects OpenSSL's chain is made of (their fingerprints are
// the cache's key).
struct CachedVerify {
  VerifyCache* cache = nullptr;
  const Certificate* target = nullptr;
  std::span<const Certificate> untrusted;
  const TrustIndex* trust = nullptr;

  const Certificate* find(const X509* x) const {
    if (x == target->native()) return target;
    for (const auto& c : untrusted)
      if (c.native() == x) return &c;
    return trust->find(x);
  }
  // X509_verify(subject, issuer's key) > 0, answered by the cache when both are ours.
  bool signature_ok(X509* subject, X509* issuer, EVP_PKEY* issuer_key) const {
    const Certificate* s = find(subject);
    const Certificate* i = find(issuer);
    if (s != nullptr && i != nullptr) return cache->signature_verifies(*s, *i);
    const bool ok = X509_verify(subject, issuer_key) > 0;
    if (!ok) ERR_clear_error();
    return ok;
  }
};

// OpenSSL's verify_cb_cert: error, depth and certificate set, the callback decides.
bool keep_going(X509_STORE_CTX* ctx, X509* cert, int depth, int error) {
  X509_STORE_CTX_set_error_depth(ctx, depth);
  X509_STORE_CTX_set_current_cert(ctx, cert);
  X509_STORE_CTX_set_error(ctx, error);
  return X509_STORE_CTX_get_verify_cb(ctx)(0, ctx) != 0;
}

// ossl_x509_likely_issued(x, x) == X509_V_OK: X509_check_issued is that check followed by the
// issuer's key usage, whose two errors are the only ones it adds.
bool likely_self_issued(X509* x) {
  const int rc = X509_check_issued(x, x);
  return rc == X509_V_OK || rc == X509_V_ERR_KEYUSAGE_NO_CERTSIGN ||
         rc == X509_V_ERR_KEYUSAGE_NO_DIGITAL_SIGNATURE;
}

// ossl_x509_signing_allowed: the issuer's keyUsage, when present, must allow signing the
// subject (digitalSignature for a proxy certificate, keyCertSign otherwise).
int signing_allowed(X509* issuer, X509* subject) {
  const bool has_ku = (X509_get_extension_flags(issuer) & EXFLAG_KUSAGE) != 0;
  const uint32_t ku = X509_get_key_usage(issuer);
  if ((X509_get_extension_flags(subject) & EXFLAG_PROXY) != 0)
    return has_ku && (ku & KU_DIGITAL_SIGNATURE) == 0 ? X509_V_ERR_KEYUSAGE_NO_DIGITAL_SIGNATURE
                                                      : X509_V_OK;
  return has_ku && (ku & KU_KEY_CERT_SIGN) == 0 ? X509_V_ERR_KEYUSAGE_NO_CERTSIGN : X509_V_OK;
}

// ossl_x509_check_cert_time with a depth: the verification time (or now), each problem told
// to the callback.
bool check_cert_time(X509_STORE_CTX* ctx, X509* x, int depth) {
  const X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx);
  const unsigned long flags = X509_VERIFY_PARAM_get_flags(param);
  time_t at = 0;
  time_t* ptime = nullptr;
  if ((flags & X509_V_FLAG_USE_CHECK_TIME) != 0) {
    at = X509_VERIFY_PARAM_get_time(param);
    ptime = &at;
  } else if ((flags & X509_V_FLAG_NO_CHECK_TIME) != 0) {
    return true;
  }
  int i = X509_cmp_time(X509_get0_notBefore(x), ptime);
  if (i == 0 && !keep_going(ctx, x, depth, X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD)) return false;
  if (i > 0 && !keep_going(ctx, x, depth, X509_V_ERR_CERT_NOT_YET_VALID)) return false;
  i = X509_cmp_time(X509_get0_notAfter(x), ptime);
  if (i == 0 && !keep_going(ctx, x, depth, X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD)) return false;
  if (i < 0 && !keep_going(ctx, x, depth, X509_V_ERR_CERT_HAS_EXPIRED)) return false;
  return true;
}

// OpenSSL 3.0's internal_verify (crypto/x509/x509_vfy.c), step for step, with the signature
// answered by the VerifyCache. Walks the built chain from the top: the anchor's own signature
// only with X509_V_FLAG_CHECK_SS_SIGNATURE, a top that is not self-issued (partial chain or
// an untrusted, incomplete path) is not checked against itself; then the issuer's keyUsage,
// its key, the signature, the validity period, and the success callback at each depth.
// Not reproduced: DANE's bare trust-anchor keys (we never enable DANE) and current_issuer,
// which has no public setter and which neither our callback nor our callers read.
int cached_internal_verify(X509_STORE_CTX* ctx) {
  const auto* cv = static_cast<const CachedVerify*>(X509_STORE_CTX_get_app_data(ctx));
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx);
  const unsigned long flags = X509_VERIFY_PARAM_get_flags(X509_STORE_CTX_get0_param(ctx));
  const X509_STORE_CTX_verify_cb callback = X509_STORE_CTX_get_verify_cb(ctx);
  int n = sk_X509_num(chain) - 1;
  if (cv == nullptr || n < 0) {
    X509_STORE_CTX_set_error(ctx, X509_V_ERR_UNSPECIFIED);
    return 0;
  }
  X509* xi = sk_X509_value(chain, n);
  X509* xs = xi;
  X509_STORE_CTX_set_error_depth(ctx, n);
  if (!likely_self_issued(xi) && (flags & X509_V_FLAG_PARTIAL_CHAIN) == 0) {
    if (n > 0) {
      --n;
      X509_STORE_CTX_set_error_depth(ctx, n);
      xs = sk_X509_value(chain, n);
    } else if (!keep_going(ctx, xi, 0, X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE)) {
      return 0;
    }
  }
  // Errors stay set once reported (only the callback may clear them), as in OpenSSL.
  while (n >= 0) {
    const uint32_t xi_flags = X509_get_extension_flags(xi);
    if (xs != xi ||
        ((flags & X509_V_FLAG_CHECK_SS_SIGNATURE) != 0 && (xi_flags & EXFLAG_SS) != 0)) {
      const int issuer_depth = n + (xs == xi ? 0 : 1);
      const int allowed =
          xs == xi && (xi_flags & EXFLAG_CA) == 0 ? X509_V_OK : signing_allowed(xi, xs);
      if (allowed != X509_V_OK && !keep_going(ctx, xi, issuer_depth, allowed)) return 0;
      EVP_PKEY* key = X509_get0_pubkey(xi);
      if (key == nullptr) {
        if (!keep_going(ctx, xi, issuer_depth, X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY))
          return 0;
      } else if (!cv->signature_ok(xs, xi, key) &&
                 !keep_going(ctx, xs, n, X509_V_ERR_CERT_SIGNATURE_FAILURE)) {
        return 0;
      }
    }
    if (!check_cert_time(ctx, xs, n)) return 0;
    X509_STORE_CTX_set_current_cert(ctx, xs);
    X509_STORE_CTX_set_error_depth(ctx, n);
    if (callback(1, ctx) == 0) return 0;
    if (--n >= 0) {
      xi = xs;
      xs = sk_X509_value(chain, n);
    }
  }
  return 1;
}

}  // namespace

Verdict openssl_verdict(const Certificate& target, std::span<const Certificate> untrusted,
                        const TrustIndex& trust, int64_t now, VerifyCache* cache, Purpose purpose) {
  Verdict v;
  X509Stack stack(sk_X509_new_null());
  UniquePtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  if (!stack || !ctx || trust.store() == nullptr) {
    v.error = X509_V_ERR_OUT_OF_MEM;
    v.error_name = verify_error_name(v.error);
    return v;
  }
  for (const auto& c : untrusted) {
    X509* x = up_ref(c.native()).release();
    if (sk_X509_push(stack.get(), x) <= 0) X509_free(x);
  }
  if (X509_STORE_CTX_init(ctx.get(), trust.store(), target.native(), stack.get()) != 1) {
    drain_errors();
    v.error = X509_V_ERR_UNSPECIFIED;
    v.error_name = verify_error_name(v.error);
    return v;
  }
  if (now != 0)
    X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx.get()), static_cast<time_t>(now));
  if (purpose != Purpose::any &&
      X509_STORE_CTX_set_purpose(ctx.get(), purpose == Purpose::server
                                                ? X509_PURPOSE_SSL_SERVER
                                                : X509_PURPOSE_SSL_CLIENT) != 1)
    ERR_clear_error();
  const CachedVerify cv{cache, &target, untrusted, &trust};
  if (cache != nullptr) {
    X509_STORE_CTX_set_app_data(ctx.get(), const_cast<CachedVerify*>(&cv));
    X509_STORE_CTX_set_verify(ctx.get(), cached_internal_verify);
  }
  const int rc = X509_verify_cert(ctx.get());
  v.error = X509_STORE_CTX_get_error(ctx.get());
  v.ok = rc == 1 && v.error == X509_V_OK;
  // cv.find knows every object OpenSSL can have put there: the target, the untrusted
  // certificates (their own objects, up-ref'd) and the store's anchors.
  STACK_OF(X509)* built = X509_STORE_CTX_get0_chain(ctx.get());
  for (int i = 0; i < sk_X509_num(built); ++i) {
    const Certificate* c = cv.find(sk_X509_value(built, i));
    if (c == nullptr) break;
    v.path.push_back(c);
  }
  if (!v.ok) {
    if (v.error == X509_V_OK) v.error = X509_V_ERR_UNSPECIFIED;
    v.error_name = verify_error_name(v.error);
    v.error_depth = X509_STORE_CTX_get_error_depth(ctx.get());
  }
  ERR_clear_error();
  return v;
}

}  // namespace certwatch::pki
