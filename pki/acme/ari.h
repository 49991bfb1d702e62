// ACME Renewal Information (draft-ietf-acme-ari) pieces that need no network: the certificate
// identifier (base64url of the AKI keyIdentifier, ".", base64url of the serial's DER content
// octets, leading zero included) and RFC 3339 timestamps of the suggested window.
// Thread-safety: reentrant.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace certwatch::pki {

// The ARI certificate id of a DER certificate; an error when it has no AKI keyIdentifier.
Result<std::string> ari_cert_id(std::string_view leaf_der);

// "2026-11-28T08:10:00Z", with optional fractional seconds and a numeric offset, to unix seconds.
Result<int64_t> parse_rfc3339(std::string_view text);

}  // namespace certwatch::pki
