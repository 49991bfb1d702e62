// What a judge_* call is asked: trust anchors, host, purpose, thresholds, the clock, budgets.
// Split out of judge.h so chain.h and lints.h need not include the whole judge. Contract for
// every caller; extend, don't rename.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "pki/certificate.h"
#include "pki/finding.h"

namespace pki {

enum class Purpose { any, server, client };

class TrustIndex;  // pki/chain.h: the anchors indexed, with their X509_STORE

// Builds the index of trust anchors once, to be shared by many judge_* calls through
// JudgeOptions::trust_index (building it per file costs more than judging a small chain).
std::shared_ptr<const TrustIndex> make_trust_index(std::span<const Certificate> trust);

// Expiry thresholds. Unset: relative to lifetime, warning below min(30d, lifetime/3),
// critical below min(7d, lifetime/10) (DESIGN.md). Set: these absolute amounts of seconds,
// still capped by the lifetime fractions so short-lived certificates make sense.
struct Thresholds {
  int64_t warning_seconds = 30 * 86400;
  int64_t critical_seconds = 7 * 86400;
};

struct JudgeOptions {
  std::vector<Certificate> trust;  // trust anchors (and extra intermediates from bundles)
  std::optional<std::string> host;  // hostname or IP to match against the leaf's SANs
  Purpose purpose = Purpose::any;
  Thresholds thresholds;
  int64_t now = 0;  // POSIX seconds; the caller's clock (injected). 0: the system clock, read
                    // once per judged chain so lints and OpenSSL's verdict use one instant
  SeverityPolicy policy;
  // The first certificate is meant as a leaf (an endpoint's served chain). Otherwise a file
  // holding only CA certificates is judged as a CA bundle: no leaf, order or extra findings.
  bool expect_leaf = false;
  // Budget for chain.too_large: certificates in the file, and their total DER size.
  int max_chain_certs = 4;
  size_t max_chain_bytes = 8192;
  // Optional prebuilt index of `trust` (make_trust_index); built per call when null.
  std::shared_ptr<const TrustIndex> trust_index;
  // Worker threads for judge_paths (0: one per core, at most 8; 1: the calling thread only).
  unsigned threads = 0;
};

}  // namespace pki
