// Facts of a certificate signed by our issuer that are known without its bytes, from what the
// ledger records of it (its key type) and from the CA that signed it. They use the words
// Certificate gives for the same facts, so a ledger row and a file holding the certificate
// label it alike. Thread-safety: reentrant.
#pragma once

#include <string>

#include "pki/x509/certificate.h"
#include "pki/x509/keygen.h"

namespace certwatch::pki {

// The PublicKeyInfo of a key of `type` (describe_public_key of it reads as
// Certificate::key_description() of a certificate holding such a key: "EC P-256", "RSA 2048").
PublicKeyInfo key_type_info(KeyType type);

// Certificate::signature_algorithm() of a certificate the issuer signs with `ca`'s key (the
// issuer's digest rule, pki/issue/profile.h signing_digest); "" if the key cannot be decoded
// or OpenSSL knows no signature algorithm for the pair.
std::string signature_algorithm_signed_by(const Certificate& ca);

}  // namespace certwatch::pki
