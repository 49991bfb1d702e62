// Client-family predictions: would a TLS client of this family accept the chain a server
// serves (the file, in file order), for a host name, against the trust anchors? Each family's
// rules are the ones its library applies (read from its source, proved by
// tests/integration/clients_test.cpp against the real client on loopback):
//   openssl  OpenSSL 3.0 (s_client, Debian's security level 2), X509_verify_cert itself
//            (trusted issuers first: a served cross-sign above an anchor is not followed)
//   gnutls   GnuTLS 3.7 (gnutls-cli): sorts the chain, cuts it at a trusted CA's name and
//            key, SHA-1 insecure, EKU on every CA
//   go       Go 1.19 crypto/x509: any path through the pool, SHA-1 rejected, KU ignored on leaves
//   mbedtls  mbedTLS 2.28 with a 4 KiB record (max_fragment_length 4096, as small devices):
//            issuers only after their child, SHA-1 and RSA < 2048 rejected, KU enforced
// Pure: no network, no files. Thread-safety: reentrant.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pki/judge/finding.h"
#include "pki/judge/judge.h"
#include "pki/x509/certificate.h"

namespace certwatch {
class JsonWriter;  // base/json.h
}  // namespace certwatch

namespace certwatch::pki {

class TrustIndex;

// "openssl", "gnutls", "go", "mbedtls": the order of reports and metrics.
std::span<const std::string_view> client_families();
bool is_client_family(std::string_view family);

struct ClientContext {
  std::span<const Certificate> served;  // what the server sends, first = its identity
  const TrustIndex* trust = nullptr;
  std::optional<std::string> host;     // checked against the leaf when set
  int64_t now = 0;                     // POSIX seconds
  size_t mbedtls_record_bytes = 4096;  // the device's largest handshake record
};

ClientVerdict predict_client(std::string_view family, const ClientContext& ctx);
// mbedTLS's rules (pki/verify/clients_mbedtls.cpp); predict_client("mbedtls", ...) calls it.
ClientVerdict predict_mbedtls(const ClientContext& ctx);
// The NID of the digest a certificate is signed with (NID_undef when OpenSSL cannot tell).
int signature_digest(const Certificate& c);

// {"family", "accepts", "reason"} into an object the caller opened: one spelling for
// `check --json` and the HTTP API.
void write_json_fields(JsonWriter& w, const ClientVerdict& v);
// "clients": [{...}, ...] into an open object; nothing when there are no verdicts.
void write_json_clients(JsonWriter& w, std::span<const ClientVerdict> verdicts);

// client.<family>.rejects findings for the verdicts that reject.
std::vector<Finding> client_findings(std::span<const ClientVerdict> verdicts,
                                     const SeverityPolicy& policy, const std::string& target);

}  // namespace certwatch::pki
