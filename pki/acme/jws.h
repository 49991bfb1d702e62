// JSON Web Signatures as ACME (RFC 8555 6.2) sends them: flattened JSON serialization, protected
// header {alg, nonce, url, jwk|kid}, ES256 (P-256, raw r||s) or RS256 (RSA >= 2048) account keys;
// the public JWK and its RFC 7638 thumbprint; the HS256 External Account Binding of RFC 8555
// 7.3.4. No network, no JSON parsing: the protocol client (agent/acme/) builds on these.
// Private keys and MAC keys never appear in any output or error message.
// Thread-safety: all functions are reentrant.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"
#include "pki/x509/ossl_ptr.h"

namespace certwatch::pki {

// RFC 4648 section 5 without padding.
std::string base64url(std::string_view bytes);
// Accepts the unpadded form (padding tolerated); anything outside the alphabet is an error.
Result<std::string> base64url_decode(std::string_view text);

// "ES256" for a P-256 key, "RS256" for RSA of 2048 bits or more; other keys are refused.
Result<std::string> jws_alg(const EVP_PKEY* key);

// The public JWK with only the required members in lexicographic order and no whitespace
// (EC: crv, kty, x, y; RSA: e, kty, n): RFC 7638's canonical form, also what goes in headers.
Result<std::string> jwk_json(const EVP_PKEY* key);

// base64url(SHA-256(canonical JWK)), RFC 7638.
Result<std::string> jwk_thumbprint(const EVP_PKEY* key);

struct JwsHeader {
  std::string nonce;  // empty: no nonce member (the EAB inner JWS has none)
  std::string url;
  std::string kid;  // account URL; empty: the key's jwk goes in the header instead
};

// Flattened JWS JSON {"protected","payload","signature"}; an empty payload is POST-as-GET.
Result<std::string> sign_jws(const EVP_PKEY* key, const JwsHeader& header,
                             std::string_view payload);

// The externalAccountBinding value for newAccount: an HS256 JWS over the account's JWK with
// protected header {alg: HS256, kid: key_id, url: new_account_url}. `hmac_key` is raw bytes.
Result<std::string> external_account_binding(const EVP_PKEY* account_key, const std::string& key_id,
                                             const std::string& hmac_key,
                                             const std::string& new_account_url);

}  // namespace certwatch::pki
