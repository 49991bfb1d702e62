// analyze_chain (pki/verify/chain.h) in its steps: index the file (duplicates), choose the leaf,
// take the path OpenSSL builds from it and place it on the issuer graph, assign roles, then the
// findings about the path and about the file's order. The graph merges the file's certificates
// with the trust anchors and verifies each (child, issuer) pair once through the VerifyCache;
// it chooses the leaf and explains what OpenSSL's path lacks. About 500 lines: the steps share
// the graph's Node and helpers, which no other file needs (a split would need them in a header).
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

// The graph node of a certificate of OpenSSL's path: a file certificate (by its place in the
// span OpenSSL was given) or an anchor of the TrustIndex.
int node_of_cert(Step& s, const Certificate* c) {
  const Certificate* first = s.in.file.data();
  if (c >= first && c < first + s.n) return s.node_of[static_cast<size_t>(c - first)];
  const auto& anchors = s.in.trust->certs();
  if (!anchors.empty() && c >= anchors.data() && c < anchors.data() + anchors.size())
    return s.g.node_for_trust(static_cast<int>(c - anchors.data()));
  return -1;
}

// A (child, issuer) pair of OpenSSL's path whose signature does not verify, when OpenSSL took a
// same-name CA with another key (no AKI told them apart; it does not backtrack).
void wrong_key_issuer(Step& s, int child, int issuer) {
  auto& nodes = s.nodes();
  const Certificate& c = *nodes[static_cast<size_t>(child)].cert;
  const Certificate& i = *nodes[static_cast<size_t>(issuer)].cert;
  if (c.same_as(i) || s.g.signed_by(c, i)) return;
  int names = 0;
  const auto right = s.g.issuers_of(child, names);
  const bool anchor_named = !s.in.trust->by_subject(X509_get_issuer_name(c.native())).empty();
  std::string msg = "a CA named '" + c.issuer() + "' (serial " + i.serial_hex() +
                    ") is taken as the issuer of " + quoted(c) +
                    " but did not sign it (different key: re-issued CA or wrong trust anchor)";
  if (!right.empty())
    msg += "; the CA that did (serial " +
           nodes[static_cast<size_t>(right.front())].cert->serial_hex() +
           ") is not chosen: OpenSSL picks among same-name candidates by AKI/SKI and validity, "
           "not by signature, and does not go back; " +
           (c.aki_keyid_hex().empty() ? quoted(c) + " has no AKI to tell them apart"
                                      : "the wrong one has no SKI to compare with the AKI");
  s.out.findings.push_back(make_finding(
      s.opt.policy, anchor_named ? "chain.untrusted" : "chain.incomplete", s.target, msg));
}

// The path from the leaf up as OpenSSL 3 builds it (X509_verify_cert on the leaf with the
// whole file as untrusted helpers): at each step a trusted issuer before any of the file's,
// candidates by name, AKI/SKI and key type, the first valid in time, alternative chains when
// the first fails, and the path ends at the first trusted issuer. A served cross-signed copy
// above a trusted anchor is then not on the path, nor is a key-rollover link certificate
// (self-issued, not self-signed) taken for a root. Returns the path nodes with more than one
// verifying issuer and no trusted one among them (trusted first leaves no choice).
std::vector<int> walk_path(Step& s) {
  ChainAnalysis& out = s.out;
  auto& nodes = s.nodes();
  const ChainInput& in = s.in;
  out.verdict = openssl_verdict(in.file[static_cast<size_t>(out.leaf)], in.file, *in.trust,
                                s.opt.now, in.cache, s.opt.purpose);
  std::vector<int> path_nodes;
  for (const Certificate* c : out.verdict.path) {
    const int k = node_of_cert(s, c);
    if (k < 0) break;
    path_nodes.push_back(k);
  }
  if (path_nodes.empty()) path_nodes.push_back(s.node_of[static_cast<size_t>(out.leaf)]);
  for (int k : path_nodes) {
    const Node& node = nodes[static_cast<size_t>(k)];
    out.path.push_back(PathNode{node.file_index, node.trust_index});
  }
  const Node top = nodes[static_cast<size_t>(path_nodes.back())];  // a copy: nodes may grow
  switch (out.verdict.error) {
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      out.end = PathEnd::untrusted_root;
      break;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      out.end = PathEnd::missing_issuer;
      break;
    default:  // ok, or a refusal after the path was built (time, extensions, signature)
      out.end = out.verdict.ok || top.trust_index >= 0 ? PathEnd::anchor : PathEnd::missing_issuer;
  }
  if (out.end == PathEnd::missing_issuer) {
    out.missing_issuer = top.cert->issuer();
    int names = 0;
    const auto issuers = s.g.issuers_of(path_nodes.back(), names);
    const bool loops = std::any_of(issuers.begin(), issuers.end(), [&](int c) {
      return std::find(path_nodes.begin(), path_nodes.end(), c) != path_nodes.end();
    });
    if (loops) {
      out.end = PathEnd::loop;
    } else if (issuers.empty() && names > 0) {
      // The name is known but no candidate's key signed this certificate: a re-keyed CA
      // or the wrong anchor. Say so rather than "missing".
      const bool anchor_named =
          !in.trust->by_subject(X509_get_issuer_name(top.cert->native())).empty();
      out.findings.push_back(make_finding(
          s.opt.policy, anchor_named ? "chain.untrusted" : "chain.incomplete", s.target,
          "a CA named '" + out.missing_issuer + "' is present but did not sign " +
              quoted(*top.cert) + " (different key: re-issued CA or wrong trust anchor)"));
      out.missing_issuer.clear();
    }
  }
  if (out.verdict.error == X509_V_ERR_CERT_SIGNATURE_FAILURE) {
    const size_t d = static_cast<size_t>(out.verdict.error_depth);
    if (d + 1 < path_nodes.size()) wrong_key_issuer(s, path_nodes[d], path_nodes[d + 1]);
  }
  std::vector<int> ambiguous;
  for (size_t k = 0; k + 1 < path_nodes.size(); ++k) {
    int names = 0;
    const auto issuers = s.g.issuers_of(path_nodes[k], names);
    const bool trusted = std::any_of(issuers.begin(), issuers.end(), [&](int c) {
      return nodes[static_cast<size_t>(c)].trust_index >= 0;
    });
    if (issuers.size() > 1 && !trusted) ambiguous.push_back(path_nodes[k]);
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
  const auto cert_at = [&](const PathNode& p) -> const Certificate& {
    return p.file_index >= 0 ? in.file[static_cast<size_t>(p.file_index)]
                             : in.trust->certs()[static_cast<size_t>(p.trust_index)];
  };
  if (out.end == PathEnd::untrusted_root) {
    const Certificate& root = cert_at(out.path.back());
    out.findings.push_back(make_finding(opt.policy, "chain.untrusted", s.target,
                                        "the path ends at root " + quoted(root) + " (" +
                                            root.subject() + "), which is not a trust anchor"));
  } else if (out.end == PathEnd::missing_issuer && !out.missing_issuer.empty()) {
    const Certificate& c = cert_at(out.path.back());
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

// The path node holding the same CA as `c` (subject and public key) under another
// certificate: a cross-signed copy or a link certificate served beside the one the path uses.
const PathNode* same_ca_on_path(Step& s, const Certificate& c) {
  for (const PathNode& p : s.out.path) {
    const Certificate& on = p.file_index >= 0
                                ? s.in.file[static_cast<size_t>(p.file_index)]
                                : s.in.trust->certs()[static_cast<size_t>(p.trust_index)];
    if (!on.same_as(c) && on.subject() == c.subject() &&
        on.spki_sha256_hex() == c.spki_sha256_hex())
      return &p;
  }
  return nullptr;
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
    const Certificate& extra = in.file[static_cast<size_t>(i)];
    std::string msg = quoted(extra) + " at " + position(i) + " is not on the path from the leaf " +
                      quoted(in.file[static_cast<size_t>(leaf)]);
    if (const PathNode* same = same_ca_on_path(s, extra))
      msg += ": another certificate of the same CA (same name and key) issued by '" +
             extra.issuer() + "', a cross-sign or a key-rollover link; the path goes through " +
             (same->trust_index >= 0 ? "the trust anchor" : "the file's other certificate") +
             " for that CA; clients that trust only '" + extra.issuer() + "' need this one";
    out.findings.push_back(make_finding(opt.policy, "chain.extra", s.cert_target(i), msg));
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
