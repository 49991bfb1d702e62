// Certificate signing requests as the issuer takes them: PEM or DER, self-signature verified,
// key type checked, SANs decoded (and validated by merge_sans), other extensions listed as
// ignored. Thread-safety: reentrant.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "pki/x509/certificate.h"
#include "pki/x509/ossl_ptr.h"

namespace certwatch::pki {

struct CsrContent {
  UniquePtr<X509_REQ> req;
  std::vector<SubjectAltName> sans;
  std::vector<std::string> ignored_extensions;
};

// Parses and checks a CSR (PEM, else DER).
Result<CsrContent> read_csr(const std::string& data);

// The SANs to certify: the given ones (parsed and validated) then the CSR's (validated), each
// once; a duplicate becomes a warning.
Result<std::vector<SubjectAltName>> merge_sans(const std::vector<std::string>& given,
                                               const std::vector<SubjectAltName>& from_csr,
                                               std::vector<std::string>& warnings);

}  // namespace certwatch::pki
