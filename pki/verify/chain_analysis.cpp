// analyze_chain (pki/verify/chain.h) in its steps: index the file (duplicates), choose the leaf,
// walk the path up through the issuer graph, assign roles, then the findings about the path and
// about the file's order. The graph merges the file's certificates with the trust anchors and
// verifies each (child, issuer) pair once through the VerifyCache. A little over 400 lines:
// the steps share the graph's Node and helpers, which no other file needs.
#include <openssl/x509.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "pki/load/chain_limits.h"
#include "pki/verify/chain.h"

namespace certwatch::pki {
namespace {

// A certificate of the pool the graph is built over: the file's distinct certificates and
// the trust anchors, merged by fingerprint.
struct Node {
  const Certificate* cert = nullptr;
  int file_index = -1;  // first occurrence in the file
  int trust_index = -1;
  bool self_signed = false;
};

std::string cn_or_dn(const Certificate& c) {
  std::string cn = c.subject_cn();
  return cn.empty() ? c.subject() : cn;
}

std::string quoted(const Certificate& c) {
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

 private:
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

  const ChainInput& in_;
  std::vector<Node> nodes_;
  std::map<int, int> trust_node_;
  std::map<int, std::vector<int>> issuers_;
  std::map<int, int> name_only_;
  int signature_checks_ = 0;
  bool limited_ = false;
};

std::string position(int i) {
  return "position " + std::to_string(i);
}

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

// Duplicates by fingerprint, and the graph node of every file index.
void index_file(Step& s) {
  ChainAnalysis& out = s.out;
  auto& nodes = s.nodes();
  const int n = s.n;
  s.node_of.assign(static_cast<size_t>(n), -1);
  std::map<std::string, int> first;
  for (int i = 0; i < n; ++i) {
    auto [it, inserted] = first.emplace(s.in.file_sha256[static_cast<size_t>(i)], i);
    if (!inserted) out.duplicate_of[static_cast<size_t>(i)] = it->second;
  }
  for (int k = 0; k < static_cast<int>(nodes.size()); ++k)
    if (nodes[static_cast<size_t>(k)].file_index >= 0)
      s.node_of[static_cast<size_t>(nodes[static_cast<size_t>(k)].file_index)] = k;
  for (int i = 0; i < n; ++i)
    if (out.duplicate_of[static_cast<size_t>(i)] >= 0)
      s.node_of[static_cast<size_t>(i)] =
          s.node_of[static_cast<size_t>(out.duplicate_of[static_cast<size_t>(i)])];
}

// The leaf: the key's certificate if a key was opened; else the first certificate that
// issues no other, preferring end-entity certificates. A key that belongs to none of the
// certificates is key.mismatch.
int choose_leaf(Step& s) {
  ChainAnalysis& out = s.out;
  auto& nodes = s.nodes();
  const int n = s.n;
  const ChainInput& in = s.in;
  // Which file certificates issue another one in the file.
  std::vector<bool> issues_other(static_cast<size_t>(n), false);
  for (int i = 0; i < n; ++i) {
    if (!s.distinct(i)) continue;
    int names = 0;
    for (int p : s.g.issuers_of(s.node_of[static_cast<size_t>(i)], names)) {
      const int fi = nodes[static_cast<size_t>(p)].file_index;
      if (fi >= 0 && fi != i) issues_other[static_cast<size_t>(fi)] = true;
    }
  }

  int leaf = -1;
  const std::optional<KeyRecord>* key = in.key;
  const bool key_usable =
      key != nullptr && key->has_value() && !(*key)->encrypted && !(*key)->spki_sha256.empty();
  if (key_usable) {
    for (int i = 0; i < n && leaf < 0; ++i)
      if (s.distinct(i) && in.file[static_cast<size_t>(i)].spki_sha256_hex() == (*key)->spki_sha256)
        leaf = i;
    out.key_matched = leaf >= 0;
    if (!out.key_matched) {
      const Certificate& first = in.file[0];
      out.findings.push_back(make_finding(s.opt.policy, "key.mismatch", s.target,
                                          "the private key " + (*key)->path + " (" +
                                              (*key)->key_type + ") belongs to none of the " +
                                              std::to_string(n) + " certificate(s), first " +
                                              quoted(first)));
    }
  }
  if (leaf < 0 && out.ca_file) leaf = 0;
  for (int pass = 0; pass < 2 && leaf < 0; ++pass) {
    for (int i = 0; i < n && leaf < 0; ++i) {
      if (!s.distinct(i) || issues_other[static_cast<size_t>(i)]) continue;
      if (pass == 0 && in.file[static_cast<size_t>(i)].is_ca()) continue;
      leaf = i;
    }
  }
  if (leaf < 0) leaf = 0;
  return leaf;
}

// The path from the leaf up, to a self-signed certificate, a missing issuer or a loop.
// Returns the path nodes with more than one verifying issuer.
std::vector<int> walk_path(Step& s) {
  ChainAnalysis& out = s.out;
  auto& nodes = s.nodes();
  const JudgeOptions& opt = s.opt;
  std::vector<int> ambiguous;
  std::set<int> visited;
  int cur = s.node_of[static_cast<size_t>(out.leaf)];
  for (;;) {
    visited.insert(cur);
    const Node node = nodes[static_cast<size_t>(cur)];  // a copy: issuers_of() may grow nodes
    out.path.push_back(PathNode{node.file_index, node.trust_index});
    if (node.self_signed) {
      out.end = node.trust_index >= 0 ? PathEnd::anchor : PathEnd::untrusted_root;
      break;
    }
    int names = 0;
    auto issuers = s.g.issuers_of(cur, names);
    if (issuers.size() > 1) ambiguous.push_back(cur);
    if (issuers.empty()) {
      out.end = PathEnd::missing_issuer;
      out.missing_issuer = node.cert->issuer();
      if (names > 0) {
        // The name is known but no candidate's key signed this certificate: a re-keyed CA
        // or the wrong anchor. Say so rather than "missing".
        bool anchor_named =
            !s.in.trust->by_subject(X509_get_issuer_name(node.cert->native())).empty();
        out.findings.push_back(make_finding(
            opt.policy, anchor_named ? "chain.untrusted" : "chain.incomplete", s.target,
            "a CA named '" + out.missing_issuer + "' is present but did not sign " +
                quoted(*node.cert) + " (different key: re-issued CA or wrong trust anchor)"));
        out.missing_issuer.clear();
      }
      break;
    }
    // Prefer an issuer that is valid now; candidates are already in preference order.
    int next = issuers.front();
    for (int c : issuers) {
      const Validity v = nodes[static_cast<size_t>(c)].cert->validity();
      if (v.not_before <= opt.now && opt.now <= v.not_after) {
        next = c;
        break;
      }
    }
    if (visited.count(next) != 0) {
      out.end = PathEnd::loop;
      break;
    }
    cur = next;
  }
  return ambiguous;
}

// Roles: on the path by position (leaf, intermediate, root); duplicates as their first copy;
// off the path "unrelated", except in a CA bundle. Returns which file indexes are on the path.
std::vector<bool> assign_roles(Step& s) {
  ChainAnalysis& out = s.out;
  auto& nodes = s.nodes();
  const int n = s.n;
  std::vector<bool> on_path(static_cast<size_t>(n), false);
  for (size_t k = 0; k < out.path.size(); ++k) {
    const int fi = out.path[k].file_index;
    if (fi < 0) continue;
    on_path[static_cast<size_t>(fi)] = true;
    const Node& node = nodes[static_cast<size_t>(s.node_of[static_cast<size_t>(fi)])];
    out.roles[static_cast<size_t>(fi)] = k == 0 && !out.ca_file ? CertRole::leaf
                                         : node.self_signed     ? CertRole::root
                                         : s.in.file[static_cast<size_t>(fi)].is_ca()
                                             ? CertRole::intermediate
                                             : CertRole::leaf;
  }
  for (int i = 0; i < n; ++i) {
    const int first = s.distinct(i) ? i : out.duplicate_of[static_cast<size_t>(i)];
    if (!s.distinct(i)) {
      out.roles[static_cast<size_t>(i)] = out.roles[static_cast<size_t>(first)];
      continue;
    }
    if (on_path[static_cast<size_t>(i)]) continue;
    if (out.ca_file) {
      const Node& node = nodes[static_cast<size_t>(s.node_of[static_cast<size_t>(i)])];
      out.roles[static_cast<size_t>(i)] =
          node.self_signed ? CertRole::root : CertRole::intermediate;
    }
  }
  return on_path;
}

// Findings about the path: how it ends, and the certificates with more than one issuer.
void path_findings(Step& s, const std::vector<int>& ambiguous) {
  ChainAnalysis& out = s.out;
  auto& nodes = s.nodes();
  const JudgeOptions& opt = s.opt;
  const ChainInput& in = s.in;
  if (out.end == PathEnd::untrusted_root) {
    const PathNode& top = out.path.back();
    const Certificate& root = in.file[static_cast<size_t>(top.file_index)];
    out.findings.push_back(make_finding(opt.policy, "chain.untrusted", s.target,
                                        "the path ends at root " + quoted(root) + " (" +
                                            root.subject() + "), which is not a trust anchor"));
  } else if (out.end == PathEnd::missing_issuer && !out.missing_issuer.empty()) {
    const PathNode& top = out.path.back();
    const Certificate& c = top.file_index >= 0
                               ? in.file[static_cast<size_t>(top.file_index)]
                               : in.trust->certs()[static_cast<size_t>(top.trust_index)];
    out.findings.push_back(
        make_finding(opt.policy, "chain.incomplete", s.target,
                     "missing issuer '" + out.missing_issuer + "' of " + quoted(c) +
                         ": it is neither in the file nor among the trust anchors"));
  } else if (out.end == PathEnd::loop) {
    out.findings.push_back(make_finding(opt.policy, "chain.incomplete", s.target,
                                        "the issuers form a loop; no path reaches a root"));
  }
  for (int a : ambiguous) {
    int names = 0;
    auto issuers = s.g.issuers_of(a, names);
    std::string which;
    for (int c : issuers) {
      const Certificate& ic = *nodes[static_cast<size_t>(c)].cert;
      if (!which.empty()) which += ", ";
      which += quoted(ic) + " serial " + ic.serial_hex() +
               (nodes[static_cast<size_t>(c)].file_index >= 0 ? " (file)" : " (trust)");
    }
    out.findings.push_back(
        make_finding(opt.policy, "chain.ambiguous_issuer", s.target,
                     std::to_string(issuers.size()) + " certificates could sign " +
                         quoted(*nodes[static_cast<size_t>(a)].cert) + ": " + which));
  }
}

// Findings about the file against the path: duplicates; for a chain file (not a CA bundle)
// also the leaf's place, the order, extras, an included root and the size budget, and the
// fixed order.
void file_findings(Step& s, const std::vector<bool>& on_path) {
  ChainAnalysis& out = s.out;
  const JudgeOptions& opt = s.opt;
  const ChainInput& in = s.in;
  const int n = s.n;
  const int leaf = out.leaf;
  for (int i = 0; i < n; ++i) {
    if (s.distinct(i)) continue;
    out.findings.push_back(make_finding(opt.policy, "chain.duplicate", s.cert_target(i),
                                        quoted(in.file[static_cast<size_t>(i)]) + " at " +
                                            position(i) + " repeats " +
                                            position(out.duplicate_of[static_cast<size_t>(i)])));
  }
  if (out.ca_file) return;
  if (leaf != 0 && !in.unordered) {
    const Certificate& first = in.file[0];
    out.findings.push_back(make_finding(
        opt.policy, "chain.leaf_not_first", s.cert_target(0),
        "the first certificate is " + quoted(first) + (first.is_ca() ? " (a CA)" : "") +
            "; the leaf " + quoted(in.file[static_cast<size_t>(leaf)]) + " stands at " +
            position(leaf) + (out.key_matched ? " (it holds the key's public half)" : "")));
  }
  // Order: every issuer must come after its child. The leaf's own displacement is already
  // chain.leaf_not_first.
  for (size_t k = 0; k + 1 < out.path.size() && !in.unordered; ++k) {
    const int child = out.path[k].file_index, issuer = out.path[k + 1].file_index;
    if (child < 0 || issuer < 0 || issuer > child) continue;
    if (child == leaf && leaf != 0) continue;
    out.findings.push_back(
        make_finding(opt.policy, "chain.order", s.cert_target(issuer),
                     "issuer " + quoted(in.file[static_cast<size_t>(issuer)]) + " at " +
                         position(issuer) + " stands before its child " +
                         quoted(in.file[static_cast<size_t>(child)]) + " at " + position(child)));
  }
  for (int i = 0; i < n; ++i) {
    if (!s.distinct(i) || on_path[static_cast<size_t>(i)]) continue;
    out.findings.push_back(make_finding(opt.policy, "chain.extra", s.cert_target(i),
                                        quoted(in.file[static_cast<size_t>(i)]) + " at " +
                                            position(i) + " is not on the path from the leaf " +
                                            quoted(in.file[static_cast<size_t>(leaf)])));
  }
  if (out.end == PathEnd::anchor || out.end == PathEnd::untrusted_root) {
    const int root = out.path.back().file_index;
    if (root >= 0 && root != leaf)
      out.findings.push_back(make_finding(opt.policy, "chain.contains_root", s.cert_target(root),
                                          "the file includes the root " +
                                              quoted(in.file[static_cast<size_t>(root)]) +
                                              "; clients must have it already"));
  }
  size_t bytes = 0;
  for (const auto& c : in.file) bytes += c.der().size();
  if (n > opt.max_chain_certs || bytes > opt.max_chain_bytes)
    out.findings.push_back(
        make_finding(opt.policy, "chain.too_large", s.target,
                     std::to_string(n) + " certificates, " + std::to_string(bytes) +
                         " bytes DER (budget " + std::to_string(opt.max_chain_certs) +
                         " certificates, " + std::to_string(opt.max_chain_bytes) + " bytes)"));
  for (const auto& p : out.path)
    if (p.file_index >= 0) out.fixed_order.push_back(p.file_index);
}

}  // namespace

ChainAnalysis analyze_chain(const ChainInput& in) {
  ChainAnalysis out;
  const int n = static_cast<int>(in.file.size());
  out.duplicate_of.assign(static_cast<size_t>(n), -1);
  out.roles.assign(static_cast<size_t>(n), CertRole::unrelated);
  if (n == 0) return out;

  Step s(in, out);
  index_file(s);
  out.ca_file = !s.opt.expect_leaf && std::all_of(in.file.begin(), in.file.end(),
                                                  [](const Certificate& c) { return c.is_ca(); });
  out.leaf = choose_leaf(s);
  const std::vector<int> ambiguous = walk_path(s);
  const std::vector<bool> on_path = assign_roles(s);
  path_findings(s, ambiguous);
  file_findings(s, on_path);
  if (s.g.limited())
    out.findings.push_back(chain_limit_finding(s.opt.policy, std::string(in.target)));
  return out;
}

}  // namespace certwatch::pki
