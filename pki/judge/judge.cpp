#include "pki/judge/judge.h"

#include <openssl/err.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "base/json.h"
#include "pki/judge/judge_internal.h"
#include "pki/judge/lints.h"
#include "pki/judge/verdict_notes.h"
#include "pki/load/chain_limits.h"
#include "pki/load/load.h"
#include "pki/verify/chain.h"
#include "pki/x509/key.h"

namespace certwatch::pki {
namespace fs = std::filesystem;

std::shared_ptr<const TrustIndex> make_trust_index(std::span<const Certificate> trust) {
  return std::make_shared<const TrustIndex>(trust);
}

void require_instant(const JudgeOptions& options) {
  if (options.now > 0) return;
  // A judgement at the epoch would call every certificate not yet valid; before, 0 meant the
  // wall clock, which let the agent's injected clock be forgotten without any test noticing.
  std::fputs("certwatch: internal error: a chain judged without JudgeOptions::now\n", stderr);
  std::abort();
}

namespace {

CertRecord make_record(const Certificate& c, int index, CertRole role, const std::string& sha256) {
  CertRecord r;
  r.index = index;
  r.role = role;
  r.subject = c.subject();
  r.issuer = c.issuer();
  r.subject_cn = c.subject_cn();
  r.issuer_cn = c.issuer_cn();
  r.serial = c.serial_hex();
  r.sha256 = sha256;
  const Validity v = c.validity();
  r.not_before = v.not_before;
  r.not_after = v.not_after;
  for (const auto& s : c.sans()) r.sans.push_back(to_string(s));
  r.key_type = c.key_description();
  r.signature_algorithm = c.signature_algorithm();
  r.is_ca = c.is_ca();
  return r;
}

// Which findings already explain an OpenSSL error code (so chain.verify_failed is not a
// second report of the same problem).
std::vector<std::string_view> explained_by(int code) {
  switch (code) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return {"chain.incomplete", "chain.untrusted"};
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return {"chain.untrusted", "chain.incomplete"};
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return {"cert.expired"};
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return {"cert.not_yet_valid"};
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
      return {"ca.path_len_exceeded"};
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
      return {"ca.no_key_cert_sign"};
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:  // a same-name CA with another key on the path
      return {"chain.untrusted", "chain.incomplete"};
    case X509_V_ERR_INVALID_PURPOSE:
      return {"leaf.purpose_mismatch"};
    default:
      return {};
  }
}

// A finding with `id` about the file itself or a certificate on the path (one off the path,
// an expired extra, does not explain why the path failed).
bool has_path_id(const Report& rep, const ChainAnalysis& a, std::string_view id) {
  return std::any_of(rep.findings.begin(), rep.findings.end(), [&](const Finding& f) {
    if (f.id != id) return false;
    if (f.target == rep.target) return true;
    for (const PathNode& p : a.path)
      if (p.file_index >= 0 && f.target == rep.target + "#" + std::to_string(p.file_index))
        return true;
    return false;
  });
}

void add_key_findings(const KeyRecord& k, const JudgeOptions& o, std::vector<Finding>& out) {
  if (k.encrypted)
    out.push_back(make_finding(o.policy, "key.encrypted", k.path,
                               "the key is encrypted; without its passphrase it cannot be "
                               "compared with the certificate"));
  if (key_mode_too_open(k.mode)) {
    char mode[16];  // the permission bits only, as ls and chmod show them
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(k.mode) & 07777u);
    out.push_back(make_finding(o.policy, "key.permissions", k.path,
                               std::string("mode ") + mode + ": readable by group or others"));
  }
}

Report judge_impl(std::string target, std::span<const Certificate> chain,
                  const std::optional<KeyRecord>& key, const JudgeOptions& options,
                  const TrustIndex& trust, VerifyCache& cache, bool unordered = false) {
  require_instant(options);
  Report rep;
  rep.target = std::move(target);
  rep.key = key;
  if (chain.empty()) return rep;
  std::optional<Finding> cut;  // pki/load/chain_limits.h: the rest of a huge file is not judged
  if (chain.size() > kMaxCertificatesAnalysed) {
    cut = too_many_certificates_finding(options.policy, rep.target, chain.size());
    chain = chain.first(kMaxCertificatesAnalysed);
  }
  std::vector<std::string> sha;
  sha.reserve(chain.size());
  for (const auto& c : chain) sha.push_back(c.sha256_hex());

  ChainInput in{rep.target, chain, sha, &trust, &key, &options, &cache, unordered};
  ChainAnalysis a = analyze_chain(in);
  for (size_t i = 0; i < chain.size(); ++i)
    rep.certs.push_back(make_record(chain[i], static_cast<int>(i), a.roles[i], sha[i]));
  rep.findings = std::move(a.findings);
  if (cut) rep.findings.push_back(std::move(*cut));

  // Lints on each distinct certificate of the file.
  std::map<int, size_t> path_pos;
  for (size_t k = 0; k < a.path.size(); ++k)
    if (a.path[k].file_index >= 0) path_pos.emplace(a.path[k].file_index, k);
  const auto path_cert = [&](size_t k) -> const Certificate* {
    if (k >= a.path.size()) return nullptr;
    const PathNode& p = a.path[k];
    return p.file_index >= 0 ? &chain[static_cast<size_t>(p.file_index)]
                             : &trust.certs()[static_cast<size_t>(p.trust_index)];
  };
  for (int i = 0; i < static_cast<int>(chain.size()); ++i) {
    if (a.duplicate_of[static_cast<size_t>(i)] >= 0) continue;
    LintContext ctx{chain[static_cast<size_t>(i)],
                    a.roles[static_cast<size_t>(i)],
                    !a.ca_file && i == a.leaf,
                    nullptr,
                    false,
                    0,
                    options};
    if (auto it = path_pos.find(i); it != path_pos.end()) {
      ctx.on_path = true;
      ctx.issuer = path_cert(it->second + 1);
      if (ctx.issuer == &chain[static_cast<size_t>(i)]) ctx.issuer = nullptr;
      for (size_t j = 1; j < it->second; ++j)
        if (!path_cert(j)->self_issued()) ++ctx.intermediates_below;
    }
    for (auto& f : run_lints(ctx, rep.target + "#" + std::to_string(i)))
      rep.findings.push_back(std::move(f));
  }
  // A trust anchor's pathLenConstraint also limits the path (its own lints are not ours), as
  // does an anchor's met on the way up (a trusted intermediate that OpenSSL went past).
  for (size_t k = 2; k < a.path.size(); ++k) {
    if (a.path[k].file_index >= 0) continue;
    const Certificate* anchor = path_cert(k);
    int below = 0;
    for (size_t j = 1; j < k; ++j)
      if (!path_cert(j)->self_issued()) ++below;
    if (const auto pl = anchor->path_len(); pl && below > *pl)
      rep.findings.push_back(
          make_finding(options.policy, "ca.path_len_exceeded", rep.target,
                       "trust anchor '" + anchor->subject_cn() + "' allows " + std::to_string(*pl) +
                           " CA(s) below it, the path has " + std::to_string(below)));
  }

  if (options.expect_leaf &&
      std::all_of(chain.begin(), chain.end(), [](const Certificate& c) { return c.is_ca(); }))
    rep.findings.push_back(no_end_entity(chain, options, rep.target));

  // OpenSSL's verdict: on the first certificate (what `openssl verify` says), and on the
  // leaf when the file does not start with it (to explain the leaf's own path). A PKCS#7 set
  // has no first certificate: its leaf is the one judged. The purpose reaches OpenSSL (as
  // `openssl verify -purpose sslserver`): the EKU and the anchors' trust settings depend on it.
  // The leaf's verdict is the one its path (analyze_chain) was built from.
  const int judged = unordered ? a.leaf : 0;
  const Verdict& leaf = a.verdict;
  const Verdict first = a.leaf == judged
                            ? leaf
                            : openssl_verdict(chain[static_cast<size_t>(judged)], chain, trust,
                                              options.now, &cache, options.purpose);
  rep.trusted = first.ok;
  if (!first.ok) rep.verify_error = first.error_name;
  if (!leaf.ok) {
    const auto explaining = explained_by(leaf.error);
    const bool explained =
        std::any_of(explaining.begin(), explaining.end(),
                    [&](std::string_view id) { return has_path_id(rep, a, id); });
    if (!explained)
      rep.findings.push_back(make_finding(options.policy, "chain.verify_failed", rep.target,
                                          "OpenSSL: " + leaf.error_name + " (" +
                                              X509_verify_cert_error_string(leaf.error) +
                                              ") at depth " + std::to_string(leaf.error_depth) +
                                              trust_settings_note(leaf, a, trust)));
  }
  if (!options.clients.empty() && !a.ca_file)
    add_client_verdicts(chain, a, unordered, trust, options, rep);
  if (unordered) {
    rep.order_judged = false;
    rep.notes.push_back("order not judged: a PKCS#7 bundle is an unordered set (DER SET OF)");
  }

  rep.fixed_order = std::move(a.fixed_order);
  rep.fixable = !a.ca_file && a.end == PathEnd::anchor;
  return rep;
}

}  // namespace

// Shared with judge_paths.cpp (pki/judge/judge_internal.h).
std::shared_ptr<const TrustIndex> trust_of(const JudgeOptions& o) {
  return o.trust_index ? o.trust_index : make_trust_index(o.trust);
}

Report judge_loaded(FileInput& in, const std::optional<KeyRecord>& key, bool key_findings_here,
                    bool explicit_arg, const JudgeOptions& options, const TrustIndex& trust,
                    VerifyCache& cache) {
  Report rep;
  rep.target = in.path.string();
  if (!in.ok()) {
    const Error& why = in.loaded.error();
    rep.findings.push_back(
        make_finding(options.policy, input_finding_id(why), rep.target, why.message));
    return rep;
  }
  const Loaded& l = *in.loaded;
  if (l.certs.empty()) {
    rep.notes = l.notes;
    if (l.private_keys > 0) {
      // A key file: its own findings only.
      auto k = key_from_bytes(in.key_bytes, in.path.string(), in.mode);
      in.wipe();
      if (!k) {
        rep.findings.push_back(
            make_finding(options.policy, "input.malformed", rep.target, k.error().message));
      } else {
        add_key_findings(*k, options, rep.findings);
        rep.key = std::move(*k);
      }
      return rep;
    }
    if (explicit_arg || l.other_blocks == 0)
      rep.findings.push_back(make_finding(
          options.policy, "input.no_certificates", rep.target,
          l.format == "empty" ? "the file is empty"
                              : "no certificate in the file (" + std::to_string(l.other_blocks) +
                                    " other PEM block(s) skipped)"));
    return rep;
  }
  // A file named by the caller together with a purpose or a host is a server's or client's
  // certificate file, not a bundle.
  JudgeOptions named;
  const bool leaf_expected = explicit_arg && !options.expect_leaf &&
                             (options.purpose != Purpose::any || options.host.has_value());
  if (leaf_expected) {
    named = options;
    named.expect_leaf = true;
  }
  rep = judge_impl(in.path.string(), l.certs, key, leaf_expected ? named : options, trust, cache,
                   l.unordered);
  if (l.certs_not_parsed > 0)
    rep.findings.push_back(too_many_certificates_finding(options.policy, rep.target,
                                                         l.certs.size() + l.certs_not_parsed));
  std::vector<std::string> judged_notes = std::move(rep.notes);  // the judge's, after the loader's
  rep.notes = l.notes;
  rep.notes.insert(rep.notes.end(), judged_notes.begin(), judged_notes.end());
  if (key && key_findings_here) add_key_findings(*key, options, rep.findings);
  return rep;
}

std::optional<KeyRecord> embedded_key(FileInput& in) {
  if (!in.ok() || in.loaded->certs.empty() || in.loaded->private_keys == 0) return std::nullopt;
  auto k = key_from_bytes(in.key_bytes, in.path.string(), in.mode);
  in.wipe();
  if (!k) return std::nullopt;
  return std::move(*k);
}

std::optional<KeyRecord> explicit_key(const std::optional<fs::path>& key_path,
                                      const JudgeOptions& options, std::vector<Finding>& errors) {
  if (!key_path) return std::nullopt;
  auto k = load_key(*key_path);
  if (k) return std::move(*k);
  errors.push_back(
      make_finding(options.policy, "input.unreadable", key_path->string(), k.error().message));
  return std::nullopt;
}

Report judge_walked_file(const fs::path& path, const JudgeOptions& options,
                         const std::optional<KeyRecord>& paired_key, bool explicit_arg,
                         VerifyCache* cache) {
  require_instant(options);
  VerifyCache local;
  auto trust = trust_of(options);
  FileInput in = load_file(path);
  const bool key_file = in.ok() && in.loaded->certs.empty() && in.loaded->private_keys > 0;
  std::optional<KeyRecord> key;
  bool key_here = false;
  if (!key_file) {
    key = embedded_key(in);
    key_here = key.has_value();
    if (!key) key = paired_key;
  }
  return judge_loaded(in, key, key_here, explicit_arg, options, *trust, cache ? *cache : local);
}

Report judge_chain(std::string target, std::span<const Certificate> chain,
                   const std::optional<KeyRecord>& key, const JudgeOptions& options,
                   VerifyCache* cache) {
  require_instant(options);
  VerifyCache local;
  auto trust = trust_of(options);
  Report rep = judge_impl(std::move(target), chain, key, options, *trust, cache ? *cache : local);
  if (chain.empty())
    rep.findings.push_back(
        make_finding(options.policy, "input.no_certificates", rep.target, "no certificate"));
  if (key) add_key_findings(*key, options, rep.findings);
  return rep;
}

Report judge_file(const fs::path& path, const JudgeOptions& options,
                  const std::optional<fs::path>& key_path, VerifyCache* cache) {
  require_instant(options);
  VerifyCache local;
  auto trust = trust_of(options);
  FileInput in = load_file(path);
  std::vector<Finding> key_errors;
  std::optional<KeyRecord> key =
      key_path ? explicit_key(key_path, options, key_errors) : embedded_key(in);
  Report rep = judge_loaded(in, key, true, true, options, *trust, cache ? *cache : local);
  for (auto& f : key_errors) rep.findings.push_back(std::move(f));
  return rep;
}

}  // namespace certwatch::pki
