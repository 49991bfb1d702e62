// Private keys found beside certificates: opened only to learn their public half. The record
// (pki::KeyRecord, report.h) carries the SubjectPublicKeyInfo fingerprint, never the key
// material; the EVP_PKEY is freed before these functions return. Thread-safety: reentrant.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "pki/judge/report.h"
#include "pki/x509/ossl_ptr.h"

namespace certwatch::pki {

// Builds a KeyRecord from the bytes of a key file (PEM: PKCS#8, traditional RSA/EC,
// encrypted PKCS#8 or legacy-encrypted; DER: PKCS#8 or traditional). An encrypted key that
// cannot be opened (no or wrong passphrase) gives a record with encrypted = true and no
// fingerprint. An error means the bytes hold no usable private key.
Result<KeyRecord> key_from_bytes(std::string_view data, std::string path, unsigned mode,
                                 const std::optional<std::string>& passphrase = std::nullopt);

// Reads the file (size-limited, see pki/load/load.h), records its permission bits, and calls
// key_from_bytes. The bytes are wiped before returning.
Result<KeyRecord> load_key(const std::filesystem::path& path,
                           const std::optional<std::string>& passphrase = std::nullopt);

// The fingerprint Certificate::spki_sha256_hex() gives for a certificate holding this key's
// public half (SHA-256 over the subjectPublicKey bits).
std::string public_key_sha256_hex(const EVP_PKEY* key);

// "EC P-256", "EC P-384", "RSA 2048", "ED25519"...
std::string describe_key(const EVP_PKEY* key);

// True if group or others may read the key file (key.permissions).
bool key_mode_too_open(unsigned mode);

}  // namespace certwatch::pki
