// The certificates of a DER PKCS#7 SignedData bundle (what `openssl crl2pkcs7` writes),
// found by walking the ASN.1 envelopes (tag and length) without parsing anything: a 10 MiB
// bundle holds ~22,000 certificates, and d2i_PKCS7 parses every one of them with its key
// (seconds). The loader uses it to parse only the certificates the judge analyses
// (pki/load/chain_limits.h). Thread-safety: pure function.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace certwatch::pki {

// Each certificate's DER bytes, in bundle order; nullopt when `der` is not a definite-length
// SignedData ContentInfo whose certificates are plain Certificate SEQUENCEs (the caller then
// falls back to OpenSSL's full parse, which gives the precise error).
std::optional<std::vector<std::string_view>> pkcs7_certificate_ders(std::string_view der);

}  // namespace certwatch::pki
