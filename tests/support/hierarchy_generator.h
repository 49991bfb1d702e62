// Random certificate hierarchies for the path-building differential test (issue 23): a seed
// gives one hierarchy, made in memory with OpenSSL (EC P-256 keys drawn from a pool made
// once), written as a served file (leaf first, the rest shuffled) and a trust bundle. The
// shapes are those where path builders differ: 1-4 intermediates, roots cross-signed by other
// roots, intermediates with two issuers, same-name CAs with other keys, key-rollover link
// certificates (self-issued, not self-signed), re-issued CAs with the same key, AKI or SKI
// absent, expired and not-yet-valid anchors and intermediates, pathLen and name constraints,
// CAs without keyCertSign, and a random subset of the roots (or an intermediate) trusted.
// Same seed, same pool size, same `now`: the same hierarchy (keys differ between pools, the
// shape does not). Thread-safety: a KeyPool is read-only after construction.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pki/x509/ossl_ptr.h"

namespace testing {

class KeyPool {
 public:
  explicit KeyPool(size_t keys);
  size_t size() const { return keys_.size(); }
  EVP_PKEY* key(size_t i) const { return keys_[i].get(); }
  // Encoded once: OpenSSL 3 runs its encoder for every i2d_PUBKEY and X509_set_pubkey, which
  // was most of the cost of a hierarchy.
  const std::string& key_id(size_t i) const { return ids_[i]; }    // SHA-1 of the SPKI DER
  const std::string& point(size_t i) const { return points_[i]; }  // the EC public point

 private:
  std::vector<certwatch::pki::UniquePtr<EVP_PKEY>> keys_;
  std::vector<std::string> ids_, points_;
};

struct Hierarchy {
  uint64_t seed = 0;
  std::string served_pem;  // what a server would send: leaf first, then shuffled
  std::string trust_pem;   // the trust bundle (never empty)
  std::string shape;       // the traits drawn, for a disagreement's message
};

// The hierarchy of `seed`, its validity periods around `now` (POSIX seconds).
Hierarchy make_hierarchy(uint64_t seed, const KeyPool& pool, int64_t now);

}  // namespace testing
