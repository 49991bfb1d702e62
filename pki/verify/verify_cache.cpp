#include "pki/verify/verify_cache.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <array>
#include <atomic>
#include <cstring>
#include <mutex>
#include <unordered_map>

namespace certwatch::pki {

struct VerifyCache::Impl {
  // Child fingerprint then issuer fingerprint: binary, so a lookup hashes and compares 64
  // bytes and allocates nothing.
  using Key = std::array<unsigned char, 64>;
  struct KeyHash {
    size_t operator()(const Key& k) const {
      size_t h = 0;  // SHA-256 output is uniform: the child's first bytes mix with the issuer's
      std::memcpy(&h, k.data(), sizeof h);
      size_t g = 0;
      std::memcpy(&g, k.data() + 32, sizeof g);
      return h ^ (g * 0x9E3779B97F4A7C15ull);
    }
  };
  std::mutex mutex;
  std::unordered_map<Key, bool, KeyHash> answers;
  std::atomic<uint64_t> verifications{0};
};

VerifyCache::VerifyCache() : impl_(std::make_unique<Impl>()) {}
VerifyCache::~VerifyCache() = default;

uint64_t VerifyCache::verifications() const {
  return impl_->verifications.load();
}

bool VerifyCache::signed_by(const Certificate& child, const Certificate& issuer) {
  // Name mismatches are cheap to decide and never cached.
  if (X509_NAME_cmp(X509_get_issuer_name(child.native()), X509_get_subject_name(issuer.native())) !=
      0)
    return false;
  return signature_verifies(child, issuer);
}

bool VerifyCache::signature_verifies(const Certificate& child, const Certificate& issuer) {
  const auto verify = [&] {
    EVP_PKEY* pkey = issuer.public_key_object();
    const bool ok = pkey != nullptr && X509_verify(child.native(), pkey) == 1;
    if (!ok) ERR_clear_error();  // a failed candidate is an answer, not an error
    impl_->verifications.fetch_add(1);
    return ok;
  };
  // A certificate OpenSSL could not fingerprint has no identity to cache under.
  if (child.sha256() == Certificate::Sha256{} || issuer.sha256() == Certificate::Sha256{})
    return verify();
  Impl::Key key;
  std::memcpy(key.data(), child.sha256().data(), 32);
  std::memcpy(key.data() + 32, issuer.sha256().data(), 32);
  {
    std::lock_guard lock(impl_->mutex);
    if (auto it = impl_->answers.find(key); it != impl_->answers.end()) return it->second;
  }
  // Verified outside the lock: two threads may both verify a new pair; both get one answer.
  const bool ok = verify();
  std::lock_guard lock(impl_->mutex);
  impl_->answers.emplace(key, ok);
  return ok;
}

}  // namespace certwatch::pki
