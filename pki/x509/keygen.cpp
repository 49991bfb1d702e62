#include "pki/x509/keygen.h"

#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <array>
#include <cstring>

namespace certwatch::pki {
namespace {

struct KeyTypeName {
  KeyType type;
  std::string_view name;
};
constexpr std::array<KeyTypeName, 6> kKeyTypes{{
    {KeyType::ec_p256, "ec-p256"},
    {KeyType::ec_p384, "ec-p384"},
    {KeyType::rsa_2048, "rsa-2048"},
    {KeyType::rsa_3072, "rsa-3072"},
    {KeyType::rsa_4096, "rsa-4096"},
    {KeyType::ed25519, "ed25519"},
}};

Result<std::string> bio_to_string(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  if (len < 0) return make_error("cannot read memory BIO");
  return std::string(data, static_cast<size_t>(len));
}

// PEM password callback: `u` points at the passphrase string (or is null when none was given).
int pass_cb(char* buf, int size, int /*rwflag*/, void* u) {
  if (u == nullptr) return -1;
  const auto* pass = static_cast<const std::string*>(u);
  if (pass->size() > static_cast<size_t>(size)) return -1;
  std::memcpy(buf, pass->data(), pass->size());
  return static_cast<int>(pass->size());
}

}  // namespace

Passphrase::~Passphrase() {
  if (!value_.empty()) OPENSSL_cleanse(value_.data(), value_.size());
}

Result<KeyType> parse_key_type(std::string_view name) {
  for (const auto& k : kKeyTypes)
    if (k.name == name) return k.type;
  return make_error("unknown key type '" + std::string(name) +
                    "' (expected ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096 or ed25519)");
}

std::span<const std::string_view> key_type_names() {
  static constexpr std::array<std::string_view, kKeyTypes.size()> names = [] {
    std::array<std::string_view, kKeyTypes.size()> n{};
    for (size_t i = 0; i < kKeyTypes.size(); ++i)
      n[static_cast<size_t>(kKeyTypes[i].type)] = kKeyTypes[i].name;
    return n;
  }();
  return names;
}

std::string_view to_string(KeyType type) {
  for (const auto& k : kKeyTypes)
    if (k.type == type) return k.name;
  return "unknown";
}

bool is_rsa(KeyType type) {
  return type == KeyType::rsa_2048 || type == KeyType::rsa_3072 || type == KeyType::rsa_4096;
}

Result<UniquePtr<EVP_PKEY>> generate_key(KeyType type) {
  EVP_PKEY* raw = nullptr;
  switch (type) {
    case KeyType::ec_p256:
      raw = EVP_EC_gen("P-256");
      break;
    case KeyType::ec_p384:
      raw = EVP_EC_gen("P-384");
      break;
    case KeyType::rsa_2048:
      raw = EVP_RSA_gen(2048);
      break;
    case KeyType::rsa_3072:
      raw = EVP_RSA_gen(3072);
      break;
    case KeyType::rsa_4096:
      raw = EVP_RSA_gen(4096);
      break;
    case KeyType::ed25519:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
  }
  if (raw == nullptr)
    return make_error("key generation (" + std::string(to_string(type)) +
                      ") failed: " + drain_errors());
  return UniquePtr<EVP_PKEY>(raw);
}

Result<KeyType> key_type_of(const EVP_PKEY* key) {
  if (key == nullptr) return make_error("no key");
  const int id = EVP_PKEY_get_base_id(key);
  const int bits = EVP_PKEY_get_bits(key);
  if (id == EVP_PKEY_RSA) {
    if (bits == 2048) return KeyType::rsa_2048;
    if (bits == 3072) return KeyType::rsa_3072;
    if (bits == 4096) return KeyType::rsa_4096;
    return make_error("RSA key of " + std::to_string(bits) +
                      " bits is not supported (2048, 3072 or 4096)");
  }
  if (id == EVP_PKEY_EC) {
    std::array<char, 64> curve{};
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, curve.data(), curve.size(),
                                       &len) != 1)
      return make_error("EC key without a named curve is not supported");
    std::string_view c(curve.data(), len);
    if (c == "prime256v1" || c == "P-256" || c == "secp256r1") return KeyType::ec_p256;
    if (c == "secp384r1" || c == "P-384") return KeyType::ec_p384;
    return make_error("EC curve " + std::string(c) + " is not supported (P-256 or P-384)");
  }
  if (id == EVP_PKEY_ED25519) return KeyType::ed25519;
  return make_error(std::string("key type ") + OBJ_nid2sn(id) + " is not supported");
}

Result<std::string> private_key_to_pem(const EVP_PKEY* key,
                                       const std::optional<Passphrase>& passphrase) {
  UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio) return make_error("out of memory");
  int ok = 0;
  if (passphrase) {
    const std::string& p = passphrase->value();
    if (p.empty()) return make_error("empty passphrase");
    ok = PEM_write_bio_PKCS8PrivateKey(bio.get(), key, EVP_aes_256_cbc(), p.data(),
                                       static_cast<int>(p.size()), nullptr, nullptr);
  } else {
    ok = PEM_write_bio_PKCS8PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  }
  if (ok != 1) return make_error("cannot encode private key: " + drain_errors());
  return bio_to_string(bio.get());
}

bool pem_key_is_encrypted(std::string_view pem) {
  return pem.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != std::string_view::npos ||
         pem.find("Proc-Type: 4,ENCRYPTED") != std::string_view::npos;
}

Result<UniquePtr<EVP_PKEY>> private_key_from_pem(std::string_view pem,
                                                 const std::optional<Passphrase>& passphrase) {
  const bool encrypted = pem_key_is_encrypted(pem);
  if (encrypted && !passphrase)
    return make_error("the private key is encrypted: a passphrase is needed",
                      ErrorKind::invalid_input, "", "passphrase");
  UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return make_error("out of memory");
  // An unencrypted key never consults the callback, so a stray passphrase is harmless.
  std::string pass = passphrase ? passphrase->value() : std::string();
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, pass_cb,
                                          passphrase ? static_cast<void*>(&pass) : nullptr);
  if (!pass.empty()) OPENSSL_cleanse(pass.data(), pass.size());
  if (raw == nullptr) {
    std::string detail = drain_errors();
    if (encrypted) return make_error("wrong passphrase for the private key");
    return make_error("cannot read private key: " + detail);
  }
  return UniquePtr<EVP_PKEY>(raw);
}

bool key_matches(const EVP_PKEY* key, const EVP_PKEY* pub) {
  if (key == nullptr || pub == nullptr) return false;
  const int r = EVP_PKEY_eq(key, pub);
  ERR_clear_error();  // a type mismatch leaves an error entry; the answer is just "no"
  return r == 1;
}

}  // namespace certwatch::pki
