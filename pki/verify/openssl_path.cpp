// analyze_chain's third step (pki/verify/chain_graph.h): the path is the one X509_verify_cert
// builds, so every chain finding and lint speaks of the path clients use.
#include <openssl/x509_vfy.h>

#include <algorithm>

#include "pki/verify/chain_graph.h"

namespace certwatch::pki::chain_steps {
namespace {

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
}  // namespace

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

}  // namespace certwatch::pki::chain_steps
