// The signature cache shared by the chain graph and OpenSSL's trust verdict (pki/verify/chain.h).
// Thread-safety: one VerifyCache may be shared between threads (it locks internally).
#pragma once

#include <cstdint>
#include <memory>

#include "pki/x509/certificate.h"

namespace certwatch::pki {

// Caches "child signed by issuer" answers by (child sha256, issuer sha256), so an
// intermediate shared by many chains is verified once: by the chain graph and by the trust
// verdict alike (pki/verify/chain.h installs it in OpenSSL's verification in place of X509_verify).
class VerifyCache {
 public:
  VerifyCache();
  ~VerifyCache();
  // Names match and the signature verifies with the issuer's public key.
  bool signed_by(const Certificate& child, const Certificate& issuer);
  // The signature alone, as X509_verify(child, issuer's public key) == 1 answers it (names are
  // not compared: OpenSSL's path validation has matched them already).
  bool signature_verifies(const Certificate& child, const Certificate& issuer);
  // Signatures actually checked so far (cache misses); for tests and benchmarks.
  uint64_t verifications() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace certwatch::pki
