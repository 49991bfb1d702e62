// The key a CA signs with: a private key in memory (read from the CA's PEM file) or an object
// in a PKCS#11 token (pki/sign/token_key.h). Everything that signs — certificates, CRLs, the
// agent's renewals — takes get(): nothing else knows the difference.
// Thread-safety: one CaKey is used by one thread at a time.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "base/result.h"
#include "pki/sign/pkcs11_uri.h"
#include "pki/sign/token_key.h"
#include "pki/x509/keygen.h"
#include "pki/x509/ossl_ptr.h"

namespace certwatch::pki {

class CaKey {
 public:
  explicit CaKey(UniquePtr<EVP_PKEY> key) : key_(std::move(key)) {}
  explicit CaKey(std::unique_ptr<TokenKey> token) : token_(std::move(token)) {}

  // The key in the token `uri` names, logged in with `pin` (or the URI's pin-source).
  static Result<CaKey> from_token(const Pkcs11Uri& uri, const std::optional<Passphrase>& pin);
  // A new CA key: generated in memory, or in the token when `uri` is given — unless the
  // token already holds the key the URI names and `type` was not asked for explicitly, in
  // which case that key is used (`*generated` says which happened).
  static Result<CaKey> create(KeyType type, bool type_given, const std::optional<Pkcs11Uri>& uri,
                              const std::optional<Passphrase>& pin, bool* generated);

  // The signing key. A token's EVP_PKEY must not outlive this CaKey: never hand it to anything
  // that keeps a reference (X509_set_pubkey does): use public_copy() for the public half.
  EVP_PKEY* get() const { return token_ ? token_->key() : key_.get(); }
  // The public key as a plain OpenSSL key of its own (a DER round trip), free of the token.
  Result<UniquePtr<EVP_PKEY>> public_copy() const;
  bool in_token() const { return token_ != nullptr; }
  std::string describe() const { return token_ ? token_->describe() : "key in memory"; }

 private:
  UniquePtr<EVP_PKEY> key_;
  std::unique_ptr<TokenKey> token_;
};

// The PIN for `uri`: `pin` when given, else the URI's pin-source file, else an error that says
// how to give one.
Result<Passphrase> token_pin(const Pkcs11Uri& uri, const std::optional<Passphrase>& pin);

}  // namespace certwatch::pki
