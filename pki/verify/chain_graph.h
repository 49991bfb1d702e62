// The issuer graph that analyze_chain's steps share (pki/verify/chain_analysis.cpp,
// pki/verify/openssl_path.cpp): the file's distinct certificates and the trust anchors merged by
// fingerprint, each (child, issuer) pair verified once through the VerifyCache, and the state
// of one analysis. Private to pki/verify/. Thread-safety: one Graph and Step per analysis.
#pragma once

#include <openssl/x509.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "pki/load/chain_limits.h"
#include "pki/verify/chain.h"

namespace certwatch::pki::chain_steps {

// A certificate of the pool the graph is built over: the file's distinct certificates and
// the trust anchors, merged by fingerprint.
struct Node {
  const Certificate* cert = nullptr;
  int file_index = -1;  // first occurrence in the file
  int trust_index = -1;
  bool self_signed = false;
};

inline std::string cn_or_dn(const Certificate& c) {
  std::string cn = c.subject_cn();
  return cn.empty() ? c.subject() : cn;
}

inline std::string quoted(const Certificate& c) {
  return "'" + cn_or_dn(c) + "'";
}

class Graph {
 public:
  explicit Graph(const ChainInput& in) : in_(in) {
    const auto& trust = *in.trust;
    std::map<std::string, int> by_sha;
    for (int i = 0; i < static_cast<int>(in.file.size()); ++i) {
      auto [it, inserted] =
          by_sha.emplace(in.file_sha256[static_cast<size_t>(i)], static_cast<int>(nodes_.size()));
      if (!inserted) continue;
      nodes_.push_back(Node{&in.file[static_cast<size_t>(i)], i, -1, false});
    }
    for (int t = 0; t < static_cast<int>(trust.certs().size()); ++t) {
      auto it = by_sha.find(trust.sha256()[static_cast<size_t>(t)]);
      if (it != by_sha.end()) {
        nodes_[static_cast<size_t>(it->second)].trust_index = t;
      } else {
        trust_node_[t] = -1;  // created lazily: bundles can hold hundreds of anchors
      }
    }
    for (auto& n : nodes_) n.self_signed = n.cert->self_issued() && signed_by(*n.cert, *n.cert);
  }

  std::vector<Node>& nodes() { return nodes_; }
  // A bound of pki/load/chain_limits.h cut the work short: the graph may miss an issuer.
  bool limited() const { return limited_; }

  bool signed_by(const Certificate& child, const Certificate& issuer) {
    // Bounded (pki/load/chain_limits.h): past the budget a pair counts as not signed.
    if (signature_checks_ >= kMaxSignatureChecks) {
      limited_ = true;
      return false;
    }
    ++signature_checks_;
    return in_.cache != nullptr ? in_.cache->signed_by(child, issuer) : child.signed_by(issuer);
  }

  // Candidate issuers of node `n` that verify, best first (file copies in file order, then
  // anchors). `name_only` receives the count of candidates that matched by name alone.
  std::vector<int> issuers_of(int n, int& name_only) {
    auto cached = issuers_.find(n);
    if (cached != issuers_.end()) {
      name_only = name_only_[n];
      return cached->second;
    }
    const Certificate& child = *nodes_[static_cast<size_t>(n)].cert;
    const X509_NAME* issuer_name = X509_get_issuer_name(child.native());
    const std::string aki = child.aki_keyid_hex();
    std::vector<int> candidates;
    const size_t file_nodes = nodes_.size();
    for (size_t i = 0; i < file_nodes; ++i) {
      if (static_cast<int>(i) == n || nodes_[i].file_index < 0) continue;
      if (X509_NAME_cmp(issuer_name, X509_get_subject_name(nodes_[i].cert->native())) == 0)
        candidates.push_back(static_cast<int>(i));
    }
    for (int t : in_.trust->by_subject(issuer_name)) candidates.push_back(node_for_trust(t));
    std::vector<int> out;
    int names = 0;
    int tried = 0;
    std::set<int> done;
    for (int c : candidates) {
      if (c == n || !done.insert(c).second) continue;
      ++names;
      const Certificate& cand = *nodes_[static_cast<size_t>(c)].cert;
      const std::string ski = cand.ski_hex();
      if (!aki.empty() && !ski.empty() && aki != ski) continue;  // OpenSSL skips these too
      if (tried++ == kMaxIssuerCandidates) {
        limited_ = true;
        break;
      }
      if (signed_by(child, cand)) out.push_back(c);
    }
    issuers_[n] = out;
    name_only_[n] = names;
    name_only = names;
    return out;
  }

  // The node of anchor `t`, merged with the file's copy when the file holds it.
  int node_for_trust(int t) {
    auto it = trust_node_.find(t);
    if (it != trust_node_.end() && it->second >= 0) return it->second;
    for (size_t i = 0; i < nodes_.size(); ++i)
      if (nodes_[i].trust_index == t) return static_cast<int>(i);
    const Certificate& c = in_.trust->certs()[static_cast<size_t>(t)];
    nodes_.push_back(Node{&c, -1, t, false});
    nodes_.back().self_signed = c.self_issued() && signed_by(c, c);
    trust_node_[t] = static_cast<int>(nodes_.size()) - 1;
    return trust_node_[t];
  }

 private:
  const ChainInput& in_;
  std::vector<Node> nodes_;
  std::map<int, int> trust_node_;
  std::map<int, std::vector<int>> issuers_;
  std::map<int, int> name_only_;
  int signature_checks_ = 0;
  bool limited_ = false;
};

// What the steps of analyze_chain share: the input, the graph, each file index's node, and
// the analysis they fill in.
struct Step {
  const ChainInput& in;
  const JudgeOptions& opt;
  const std::string target;
  const int n;
  Graph g;
  std::vector<int> node_of;  // node of each file index (duplicates map to their first copy)
  ChainAnalysis& out;

  Step(const ChainInput& input, ChainAnalysis& analysis)
      : in(input),
        opt(*input.options),
        target(input.target),
        n(static_cast<int>(input.file.size())),
        g(input),
        out(analysis) {}
  std::vector<Node>& nodes() { return g.nodes(); }
  bool distinct(int i) const { return out.duplicate_of[static_cast<size_t>(i)] < 0; }
  std::string cert_target(int i) const { return target + "#" + std::to_string(i); }
};

// Step 3 of analyze_chain (pki/verify/openssl_path.cpp): the path from the leaf up as OpenSSL 3
// builds it, placed on the graph (out.path, out.end, out.verdict and the findings about what
// the path lacks). Returns the path nodes whose issuer is ambiguous.
std::vector<int> walk_path(Step& s);

}  // namespace certwatch::pki::chain_steps
