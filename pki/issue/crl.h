// Certificate revocation lists signed by an issuing CA (v2, with AKI, CRL number and reason
// codes), the form Mosquitto's `crlfile` and `openssl verify -crl_check` read.
// Thread-safety: reentrant.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "pki/x509/certificate.h"
#include "pki/x509/ossl_ptr.h"

namespace certwatch::pki {

struct RevokedCert {
  std::string serial_hex;
  int64_t revoked_at = 0;
  std::string reason;  // RFC 5280 name ("keyCompromise", ...); "unspecified" writes no reason
};

// RFC 5280 5.3.1 reason names accepted by `pki revoke --reason`.
Result<int> parse_crl_reason(std::string_view name);

struct CrlParams {
  int64_t number = 1;
  int64_t this_update = 0;
  int64_t next_update = 0;
};

// A PEM CRL for `ca`, signed by `ca_key`.
Result<std::string> make_crl(const Certificate& ca, EVP_PKEY* ca_key,
                             const std::vector<RevokedCert>& revoked, const CrlParams& params);

}  // namespace certwatch::pki
