// analyze_chain (pki/verify/chain.h) in its steps: index the file (duplicates), choose the leaf,
// take the path OpenSSL builds from it (pki/verify/openssl_path.cpp), assign roles, then the
// findings about the path and about the file's order. The issuer graph (pki/verify/chain_graph.h)
// chooses the leaf and explains what OpenSSL's path lacks.
#include <openssl/x509.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "pki/load/chain_limits.h"
#include "pki/verify/chain_graph.h"

namespace certwatch::pki {

using namespace chain_steps;  // the steps' shared graph and state

namespace {

std::string position(int i) {
  return "position " + std::to_string(i);
}

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
