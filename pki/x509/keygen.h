// Key generation and private-key PEM for the issuer: the key types of DESIGN.md, written as
// PKCS#8 ("PRIVATE KEY", or "ENCRYPTED PRIVATE KEY" with AES-256-CBC under a passphrase).
// Key material stays inside pki/; callers hold it as UniquePtr<EVP_PKEY> or a PrivateKey.
// Thread-safety: all functions are reentrant.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/result.h"
#include "pki/x509/ossl_ptr.h"

namespace certwatch::pki {

enum class KeyType { ec_p256, ec_p384, rsa_2048, rsa_3072, rsa_4096, ed25519 };

// "ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "rsa-4096", "ed25519".
Result<KeyType> parse_key_type(std::string_view name);
std::string_view to_string(KeyType type);
bool is_rsa(KeyType type);
// Every name parse_key_type accepts, in the enum's order (for "did you mean" in the config).
std::span<const std::string_view> key_type_names();

// Fresh key pair of `type`.
Result<UniquePtr<EVP_PKEY>> generate_key(KeyType type);

// Our name for an existing key ("ec-p256", "rsa-2048", ...) or an error for a key the issuer
// does not sign for (RSA below 2048 bits, other curves, DSA...).
Result<KeyType> key_type_of(const EVP_PKEY* key);

// A passphrase held in memory; cleared on destruction. Never logged.
class Passphrase {
 public:
  explicit Passphrase(std::string value) : value_(std::move(value)) {}
  ~Passphrase();
  Passphrase(const Passphrase&) = default;
  Passphrase& operator=(const Passphrase&) = default;
  const std::string& value() const { return value_; }

 private:
  std::string value_;
};

// PKCS#8 PEM; encrypted with AES-256-CBC (PBKDF2) when a passphrase is given.
Result<std::string> private_key_to_pem(const EVP_PKEY* key,
                                       const std::optional<Passphrase>& passphrase = std::nullopt);

// True if the PEM holds an encrypted private key (PKCS#8 or legacy "Proc-Type: 4,ENCRYPTED").
bool pem_key_is_encrypted(std::string_view pem);

// Reads a PEM private key (PKCS#8, traditional RSA/EC, encrypted or not). An encrypted key
// without a passphrase, and a wrong passphrase, are distinct clear errors.
Result<UniquePtr<EVP_PKEY>> private_key_from_pem(std::string_view pem,
                                                 const std::optional<Passphrase>& passphrase);

// True if `key` is the private half of `pub` (a certificate's or CSR's public key).
bool key_matches(const EVP_PKEY* key, const EVP_PKEY* pub);

}  // namespace certwatch::pki
