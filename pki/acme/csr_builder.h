// PKCS#10 requests for ACME finalize (RFC 8555 7.4): the new key's public half, the identifiers
// as a subjectAltName extension (DNS names, IP literals as iPAddress), the first DNS name as CN
// when it fits, signed by the key. pki/issue/csr.h reads requests; this builds them.
// Thread-safety: reentrant.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "pki/x509/ossl_ptr.h"

namespace certwatch::pki {

// DER of a CSR for `identifiers` ("mqtt.example.org", "192.0.2.7", "2001:db8::1"), signed by
// `key` (any key type the issuer knows; SHA-256, none for Ed25519).
Result<std::string> build_csr_der(const EVP_PKEY* key, const std::vector<std::string>& identifiers);

}  // namespace certwatch::pki
