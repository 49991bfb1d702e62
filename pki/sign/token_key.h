// A private key held in a PKCS#11 token, used through libp11: the key never leaves the token,
// and the EVP_PKEY this gives signs by asking the token. A token's library (module) is loaded
// once per process while any of its keys is open and unloaded when the last one closes, so a
// token that was absent is found again by the next open, without a restart.
// Thread-safety: open/generate may be called from any thread (the module table is locked); one
// TokenKey is used by one thread at a time.
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "pki/sign/pkcs11_uri.h"
#include "pki/x509/keygen.h"
#include "pki/x509/ossl_ptr.h"

struct PKCS11_slot_st;

namespace certwatch::pki {

class TokenKey {
 public:
  // Finds the token and the private key the URI names and logs in with `pin`. Errors say
  // which step failed: the module, the token (absent), the PIN (wrong, locked), the key.
  static Result<std::unique_ptr<TokenKey>> open(const Pkcs11Uri& uri, const Passphrase& pin);
  // Generates a key pair of `type` in the token, labelled and identified as the URI says, and
  // opens it. libp11 0.4 generates RSA only: for an EC key, create it with the token's own tool
  // (pkcs11-tool --keypairgen --key-type EC:prime256v1 ...) and open it. A key already under
  // that label or id is an error (ErrorKind::exists).
  static Result<std::unique_ptr<TokenKey>> generate(const Pkcs11Uri& uri, const Passphrase& pin,
                                                    KeyType type);
  ~TokenKey();
  TokenKey(const TokenKey&) = delete;
  TokenKey& operator=(const TokenKey&) = delete;

  EVP_PKEY* key() const { return key_.get(); }
  // "token 'ca', object 'server-ca'" for messages.
  const std::string& describe() const { return describe_; }

  struct Module;

 private:
  TokenKey() = default;
  std::shared_ptr<Module> module_;
  UniquePtr<EVP_PKEY> key_;
  std::string describe_;
};

}  // namespace certwatch::pki
