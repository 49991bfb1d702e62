// Chain analysis: the graph child -> issuer over a file's certificates and the trust anchors
// (name match, AKI/SKI agreement, signature verified once per pair through the VerifyCache),
// the path from the leaf up, and the order of the file against that path. The path is the one
// OpenSSL 3 builds (X509_verify_cert: trusted issuers first, then the file; AKI/SKI and key
// type; alternative chains; it ends at the first trusted issuer), so the trust findings and
// the lints speak of the path clients use. Also the trust verdict exactly as
// `openssl verify -CAfile BUNDLE -untrusted CHAIN CHAIN` computes it.
// Thread-safety: TrustIndex is immutable after construction and may be shared between threads;
// the functions are reentrant.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pki/judge/finding.h"
#include "pki/judge/judge_options.h"
#include "pki/judge/report.h"
#include "pki/verify/verify_cache.h"
#include "pki/x509/certificate.h"

namespace certwatch::pki {

// The trust anchors, indexed by subject, with the X509_STORE that OpenSSL verifies against.
// Built once per set of options and shared by every file judged with them.
class TrustIndex {
 public:
  explicit TrustIndex(std::span<const Certificate> trust);
  const std::vector<Certificate>& certs() const { return certs_; }
  const std::vector<std::string>& sha256() const { return sha256_; }
  // Indexes of anchors whose subject equals `name` (an X509_NAME of a child's issuer).
  std::vector<int> by_subject(const X509_NAME* name) const;
  X509_STORE* store() const { return store_.get(); }
  // The anchor whose X509 object this is (the store hands out the objects it was given), or
  // nullptr.
  const Certificate* find(const X509* x) const;

 private:
  std::vector<Certificate> certs_;
  std::vector<std::string> sha256_;
  std::multimap<unsigned long, int> by_hash_;
  std::unordered_map<const X509*, int> by_object_;
  UniquePtr<X509_STORE> store_;
};

// OpenSSL's verdict for `target` with `untrusted` as the pile of helpers, at time `now`
// (0: the current time). No purpose, no host: what `openssl verify` checks.
// With a cache, OpenSSL builds and checks the path as always, but the signature step of its
// internal_verify is done by our equivalent (same order, errors, depths and callbacks) that
// asks the cache, so a signature the graph (or an earlier file) verified is not verified again.
struct Verdict {
  bool ok = false;
  int error = 0;           // X509_V_ERR_* code
  std::string error_name;  // "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY"; "" when ok
  int error_depth = 0;
  // The path OpenSSL built (X509_STORE_CTX_get0_chain), target first: the certificates of
  // `target`, `untrusted` or the TrustIndex it is made of (pointers into them, valid as long
  // as they are). On failure, as far as OpenSSL got.
  std::vector<const Certificate*> path;
};
// With a purpose, as `openssl verify -purpose sslserver|sslclient`: the leaf's EKU is checked
// and an anchor's OpenSSL trust settings (TRUSTED CERTIFICATE) are read for that purpose.
Verdict openssl_verdict(const Certificate& target, std::span<const Certificate> untrusted,
                        const TrustIndex& trust, int64_t now, VerifyCache* cache = nullptr,
                        Purpose purpose = Purpose::any);

// "X509_V_ERR_CERT_HAS_EXPIRED" for 10; "X509_V_ERR_<code>" for unknown codes.
std::string verify_error_name(int code);

// One certificate on the path from the leaf up: in the file (file_index >= 0, first
// occurrence) or only among the trust anchors (trust_index >= 0), or both.
struct PathNode {
  int file_index = -1;
  int trust_index = -1;
};

enum class PathEnd {
  anchor,          // a trust anchor: a complete path (OpenSSL may still refuse it: expiry...)
  untrusted_root,  // a self-signed certificate that is not a trust anchor
  missing_issuer,  // the issuer of the last node is neither in the file nor trusted
  loop,            // the issuers go round in a circle
};

struct ChainAnalysis {
  bool ca_file = false;           // only CA certificates: judged as a bundle, not a chain
  int leaf = 0;                   // file index of the leaf (the path's start)
  std::vector<int> duplicate_of;  // per file index: index of the first copy, or -1
  std::vector<CertRole> roles;    // per file index
  std::vector<PathNode> path;     // leaf first
  PathEnd end = PathEnd::missing_issuer;
  std::string missing_issuer;     // RFC 2253 name, when end == missing_issuer
  bool key_matched = false;       // a key was given, opened, and belongs to a certificate here
  std::vector<Finding> findings;  // chain.* and key.mismatch
  std::vector<int> fixed_order;   // file indexes: path order, leaf first, root included
  Verdict verdict;                // OpenSSL's verdict on the leaf; `path` was made from it
};

struct ChainInput {
  std::string_view target;
  std::span<const Certificate> file;         // file order, as read
  std::span<const std::string> file_sha256;  // precomputed fingerprints of `file`
  const TrustIndex* trust = nullptr;
  const std::optional<KeyRecord>* key = nullptr;
  const JudgeOptions* options = nullptr;
  VerifyCache* cache = nullptr;
  bool unordered = false;  // a PKCS#7 set: no order findings (chain.leaf_not_first, chain.order)
};

ChainAnalysis analyze_chain(const ChainInput& in);

}  // namespace certwatch::pki
