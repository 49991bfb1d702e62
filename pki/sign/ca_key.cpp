#include "pki/sign/ca_key.h"

#include <openssl/x509.h>

#include "pki/load/passphrase_file.h"

namespace certwatch::pki {

Result<Passphrase> token_pin(const Pkcs11Uri& uri, const std::optional<Passphrase>& pin) {
  if (pin) return *pin;
  if (!uri.pin_source.empty()) {
    auto p = read_passphrase_file(uri.pin_source);
    if (!p && p.error().kind == ErrorKind::invalid_input)
      return make_error("pin-source " + uri.pin_source + " holds an empty PIN",
                        ErrorKind::invalid_input);
    if (!p) return make_error("pin-source: " + p.error().message, ErrorKind::io);
    return p;
  }
  return make_error("the key is in token '" + uri.token +
                        "' and no user PIN was given (nor pin-source=file:F in its URI)",
                    ErrorKind::invalid_input, "", "pin");
}

Result<UniquePtr<EVP_PKEY>> CaKey::public_copy() const {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(get(), &der);
  if (len <= 0)
    return make_error("cannot encode the CA's public key: " + drain_errors(), ErrorKind::crypto);
  const unsigned char* p = der;
  UniquePtr<EVP_PKEY> pub(d2i_PUBKEY(nullptr, &p, len));
  OPENSSL_free(der);
  if (!pub)
    return make_error("cannot decode the CA's public key: " + drain_errors(), ErrorKind::crypto);
  return pub;
}

Result<CaKey> CaKey::from_token(const Pkcs11Uri& uri, const std::optional<Passphrase>& pin) {
  auto p = token_pin(uri, pin);
  if (!p) return p.error();
  auto k = TokenKey::open(uri, *p);
  if (!k) return k.error();
  return CaKey(std::move(*k));
}

Result<CaKey> CaKey::create(KeyType type, bool type_given, const std::optional<Pkcs11Uri>& uri,
                            const std::optional<Passphrase>& pin, bool* generated) {
  *generated = true;
  if (!uri) {
    auto k = generate_key(type);
    if (!k) return k.error();
    return CaKey(std::move(*k));
  }
  auto p = token_pin(*uri, pin);
  if (!p) return p.error();
  if (!type_given) {
    auto existing = TokenKey::open(*uri, *p);
    if (existing) {
      *generated = false;
      return CaKey(std::move(*existing));
    }
    if (existing.error().fix != "key_type") return existing.error();
    type = KeyType::rsa_3072;  // what the token can generate (token_key.h)
  }
  auto k = TokenKey::generate(*uri, *p, type);
  if (!k) return k.error();
  return CaKey(std::move(*k));
}

}  // namespace certwatch::pki
