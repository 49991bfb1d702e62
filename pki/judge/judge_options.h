// What a judge_* call is asked: trust anchors, host, purpose, thresholds, the clock, budgets.
// Split out of judge.h so chain.h and lints.h need not include the whole judge. Contract for
// every caller; extend, don't rename.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "pki/judge/finding.h"
#include "pki/x509/certificate.h"

namespace certwatch::pki {

enum class Purpose { any, server, client };
// The purposes a caller can name, in enum order after `any` (which is naming none): the CLI's
// --purpose and the config's watch[].purpose take exactly these.
inline constexpr std::array<std::string_view, 2> kPurposeNames{"server", "client"};
inline Result<Purpose> parse_purpose(std::string_view name) {
  if (name == kPurposeNames[0]) return Purpose::server;
  if (name == kPurposeNames[1]) return Purpose::client;
  return make_error("unknown purpose '" + std::string(name) + "' (server or client)",
                    ErrorKind::invalid_input);
}
inline std::string_view to_string(Purpose p) {
  return p == Purpose::server ? kPurposeNames[0] : p == Purpose::client ? kPurposeNames[1] : "any";
}

class TrustIndex;  // pki/verify/chain.h: the anchors indexed, with their X509_STORE

// Builds the index of trust anchors once, to be shared by many judge_* calls through
// JudgeOptions::trust_index (building it per file costs more than judging a small chain).
std::shared_ptr<const TrustIndex> make_trust_index(std::span<const Certificate> trust);

// Expiry thresholds. Unset: relative to lifetime, warning below min(30d, lifetime/3),
// critical below min(7d, lifetime/10) (DESIGN.md). Set: these absolute amounts of seconds,
// still capped by the lifetime fractions so short-lived certificates make sense.
struct Thresholds {
  int64_t warning_seconds = 30 * 86400;
  int64_t critical_seconds = 7 * 86400;
  bool operator==(const Thresholds&) const = default;
};

struct JudgeOptions;
// Aborts (a programming error, not an input problem) unless options.now is set. Every judge_*
// entry point checks it.
void require_instant(const JudgeOptions& options);

struct JudgeOptions {
  std::vector<Certificate> trust;   // trust anchors (and extra intermediates from bundles)
  std::optional<std::string> host;  // hostname or IP to match against the leaf's SANs
  Purpose purpose = Purpose::any;
  Thresholds thresholds;
  // POSIX seconds: the one instant every time check of a chain uses (lints and OpenSSL's
  // verdict), from the caller's Clock (the agent's injected one; the CLI's system clock, read
  // once). Required: judge_* abort on a value <= 0 (require_instant) rather than guess.
  int64_t now = 0;
  SeverityPolicy policy;
  // The first certificate is meant as a leaf (an endpoint's served chain). Otherwise a file
  // holding only CA certificates is judged as a CA bundle: no leaf, order or extra findings.
  // A file named explicitly (check's argument, a watch entry that is a file) is judged with
  // it when a purpose or host is given: the caller said it is a server's or client's file,
  // and one without an end-entity certificate is chain.no_end_entity.
  bool expect_leaf = false;
  // Budget for chain.too_large: certificates in the file, and their total DER size.
  int max_chain_certs = 4;
  size_t max_chain_bytes = 8192;
  // Optional prebuilt index of `trust` (make_trust_index); built per call when null.
  std::shared_ptr<const TrustIndex> trust_index;
  // Worker threads for judge_paths (0: one per core, at most 8; 1: the calling thread only).
  unsigned threads = 0;
  // Client families to predict for a served chain (pki/verify/clients.h: "openssl", "gnutls", "go",
  // "mbedtls"); empty: none. Not for CA bundles.
  std::vector<std::string> clients;
};

}  // namespace certwatch::pki
