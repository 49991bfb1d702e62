#include "pki/judge.h"

#include <openssl/err.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <ctime>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "pki/chain.h"
#include "pki/chain_limits.h"
#include "pki/json.h"
#include "pki/key.h"
#include "pki/lints.h"
#include "pki/load.h"

namespace pki {
namespace fs = std::filesystem;

// VerifyCache --------------------------------------------------------------------------------

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

uint64_t VerifyCache::verifications() const { return impl_->verifications.load(); }

bool VerifyCache::signed_by(const Certificate& child, const Certificate& issuer) {
  // Name mismatches are cheap to decide and never cached.
  if (X509_NAME_cmp(X509_get_issuer_name(child.native()), X509_get_subject_name(issuer.native())) != 0)
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

void write_json_fields(JsonWriter& w, const CertRecord& c) {
  w.key("index").value(c.index)
      .key("role").value(c.role)
      .key("subject").value(c.subject)
      .key("issuer").value(c.issuer)
      .key("subject_cn").value(c.subject_cn)
      .key("issuer_cn").value(c.issuer_cn)
      .key("serial").value(c.serial)
      .key("sha256").value(c.sha256)
      .key("not_before").value(c.not_before)
      .key("not_after").value(c.not_after)
      .key("sans").begin_array();
  for (const auto& s : c.sans) w.value(s);
  w.end_array()
      .key("key_type").value(c.key_type)
      .key("signature_algorithm").value(c.signature_algorithm)
      .key("is_ca").value(c.is_ca);
}

void write_json_fields(JsonWriter& w, const Finding& f) {
  w.key("id").value(f.id)
      .key("severity").value(to_string(f.severity))
      .key("target").value(f.target)
      .key("message").value(f.message);
}

std::shared_ptr<const TrustIndex> make_trust_index(std::span<const Certificate> trust) {
  return std::make_shared<const TrustIndex>(trust);
}

namespace {

CertRecord make_record(const Certificate& c, int index, std::string role,
                       const std::string& sha256) {
  CertRecord r;
  r.index = index;
  r.role = std::move(role);
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
    case X509_V_ERR_CERT_HAS_EXPIRED: return {"cert.expired"};
    case X509_V_ERR_CERT_NOT_YET_VALID: return {"cert.not_yet_valid"};
    case X509_V_ERR_PATH_LENGTH_EXCEEDED: return {"ca.path_len_exceeded"};
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN: return {"ca.no_key_cert_sign"};
    default: return {};
  }
}

bool has_id(const std::vector<Finding>& fs, std::string_view id) {
  return std::any_of(fs.begin(), fs.end(), [&](const Finding& f) { return f.id == id; });
}

std::shared_ptr<const TrustIndex> trust_of(const JudgeOptions& o) {
  return o.trust_index ? o.trust_index : make_trust_index(o.trust);
}

void add_key_findings(const KeyRecord& k, const JudgeOptions& o, std::vector<Finding>& out) {
  if (k.encrypted)
    out.push_back(make_finding(o.policy, "key.encrypted", k.path,
                               "the key is encrypted; without its passphrase it cannot be "
                               "compared with the certificate"));
  if (key_mode_too_open(k.mode)) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", k.mode);
    out.push_back(make_finding(o.policy, "key.permissions", k.path,
                               std::string("mode ") + mode + ": readable by group or others"));
  }
}

Report judge_impl(std::string target, std::span<const Certificate> chain,
                  const std::optional<KeyRecord>& key, const JudgeOptions& given,
                  const TrustIndex& trust, VerifyCache& cache) {
  // One instant for every time check of this chain (see JudgeOptions::now).
  JudgeOptions clocked;
  if (given.now == 0) {
    clocked = given;
    clocked.now = static_cast<int64_t>(std::time(nullptr));
  }
  const JudgeOptions& options = given.now == 0 ? clocked : given;
  Report rep;
  rep.target = std::move(target);
  rep.key = key;
  if (chain.empty()) return rep;
  std::optional<Finding> cut;  // pki/chain_limits.h: the rest of a huge file is not judged
  if (chain.size() > kMaxCertificatesAnalysed) {
    cut = too_many_certificates_finding(options.policy, rep.target, chain.size());
    chain = chain.first(kMaxCertificatesAnalysed);
  }
  std::vector<std::string> sha;
  sha.reserve(chain.size());
  for (const auto& c : chain) sha.push_back(c.sha256_hex());

  ChainInput in{rep.target, chain, sha, &trust, &key, &options, &cache};
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
    LintContext ctx{chain[static_cast<size_t>(i)], a.roles[static_cast<size_t>(i)],
                    !a.ca_file && i == a.leaf, nullptr, false, 0, options};
    if (auto it = path_pos.find(i); it != path_pos.end()) {
      ctx.on_path = true;
      ctx.issuer = path_cert(it->second + 1);
      if (ctx.issuer == &chain[static_cast<size_t>(i)]) ctx.issuer = nullptr;
      for (size_t j = 1; j < it->second; ++j)
        if (!path_cert(j)->self_issued()) ++ctx.intermediates_below;
    }
    for (auto& f : run_lints(ctx, rep.target + "#" + std::to_string(i))) rep.findings.push_back(std::move(f));
  }
  // A trust anchor's pathLenConstraint also limits the path (its own lints are not ours).
  if (a.path.size() > 1 && a.path.back().file_index < 0) {
    const Certificate* top = path_cert(a.path.size() - 1);
    int below = 0;
    for (size_t j = 1; j + 1 < a.path.size(); ++j)
      if (!path_cert(j)->self_issued()) ++below;
    if (const auto pl = top->path_len(); pl && below > *pl)
      rep.findings.push_back(make_finding(options.policy, "ca.path_len_exceeded", rep.target,
                                          "trust anchor '" + top->subject_cn() + "' allows " +
                                              std::to_string(*pl) + " CA(s) below it, the path has " +
                                              std::to_string(below)));
  }

  // OpenSSL's verdict: on the first certificate (what `openssl verify` says), and on the
  // leaf when the file does not start with it (to explain the leaf's own path).
  const Verdict first = openssl_verdict(chain[0], chain, trust, options.now, &cache);
  rep.trusted = first.ok;
  if (!first.ok) rep.verify_error = first.error_name;
  const Verdict leaf = a.leaf == 0 ? first
                                   : openssl_verdict(chain[static_cast<size_t>(a.leaf)], chain,
                                                     trust, options.now, &cache);
  if (!leaf.ok) {
    const auto explaining = explained_by(leaf.error);
    const bool explained = std::any_of(explaining.begin(), explaining.end(),
                                       [&](std::string_view id) { return has_id(rep.findings, id); });
    if (!explained)
      rep.findings.push_back(make_finding(
          options.policy, "chain.verify_failed", rep.target,
          "OpenSSL: " + leaf.error_name + " (" + X509_verify_cert_error_string(leaf.error) +
              ") at depth " + std::to_string(leaf.error_depth)));
  }

  rep.fixed_order = std::move(a.fixed_order);
  rep.fixable = !a.ca_file && a.end == PathEnd::anchor;
  return rep;
}

// A file already loaded, with its key (if any) already opened.
Report judge_loaded(FileInput& in, const std::optional<KeyRecord>& key, bool key_findings_here,
                    bool explicit_arg, const JudgeOptions& options, const TrustIndex& trust,
                    VerifyCache& cache) {
  Report rep;
  rep.target = in.path.string();
  if (!in.ok()) {
    rep.findings.push_back(make_finding(options.policy, in.error_id, rep.target, in.error));
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
        rep.findings.push_back(make_finding(options.policy, "input.malformed", rep.target, k.error().message));
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
  rep = judge_impl(in.path.string(), l.certs, key, options, trust, cache);
  if (l.certs_not_parsed > 0)
    rep.findings.push_back(too_many_certificates_finding(options.policy, rep.target,
                                                         l.certs.size() + l.certs_not_parsed));
  rep.notes = l.notes;
  if (key && key_findings_here) add_key_findings(*key, options, rep.findings);
  return rep;
}

// The key a certificate file carries itself (a combined PEM), if any.
std::optional<KeyRecord> embedded_key(FileInput& in) {
  if (!in.ok() || in.loaded->certs.empty() || in.loaded->private_keys == 0) return std::nullopt;
  auto k = key_from_bytes(in.key_bytes, in.path.string(), in.mode);
  in.wipe();
  if (!k) return std::nullopt;
  return std::move(*k);
}

// The key named with --key, opened once; a key that cannot be read is an input finding.
std::optional<KeyRecord> explicit_key(const std::optional<fs::path>& key_path,
                                      const JudgeOptions& options, std::vector<Finding>& errors) {
  if (!key_path) return std::nullopt;
  auto k = load_key(*key_path);
  if (k) return std::move(*k);
  errors.push_back(make_finding(options.policy, "input.unreadable", key_path->string(), k.error().message));
  return std::nullopt;
}

// Runs fn(i) for i in [0, n) on up to `threads` workers (the calling thread included).
template <class Fn>
void parallel_for(size_t n, unsigned threads, Fn fn) {
  if (threads <= 1 || n < 32) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < n;) fn(i);
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
}

unsigned worker_count(const JudgeOptions& o) {
  if (o.threads != 0) return o.threads;
  return std::clamp(std::thread::hardware_concurrency(), 1u, 8u);
}

}  // namespace

namespace {

bool is_pairing_folder(const fs::path& dir) {
  const std::string dn = dir.filename().string();
  return dn == "private" || dn == "certs";
}

fs::path pairing_base(const fs::path& file) {
  fs::path dir = file.parent_path();
  if (is_pairing_folder(dir)) dir = dir.parent_path();
  return dir;
}

}  // namespace

std::string pairing_stem(const fs::path& p) {
  static const std::vector<std::string> kStrip{".pem", ".crt", ".cer", ".cert", ".der", ".key",
                                               ".p7b", ".p7c", ".chain", ".bundle", ".p8",
                                               ".fullchain", ".privkey"};
  std::string stem = p.filename().string();
  for (bool stripped = true; stripped;) {
    stripped = false;
    for (const auto& ext : kStrip) {
      if (stem.size() > ext.size() && stem.compare(stem.size() - ext.size(), ext.size(), ext) == 0) {
        stem.resize(stem.size() - ext.size());
        stripped = true;
      }
    }
  }
  return pairing_base(p).lexically_normal().string() + "/" + stem;
}

std::vector<fs::path> pairing_dirs(const fs::path& file) {
  const fs::path base = pairing_base(file);
  return {base, base / "certs", base / "private"};
}

std::optional<KeyRecord> paired_key_among(const fs::path& cert, std::vector<fs::path> files) {
  const std::string stem = pairing_stem(cert);
  std::erase_if(files, [&](const fs::path& p) { return p == cert || pairing_stem(p) != stem; });
  // judge_paths' walk order (sorted children, depth first) is the sorted full paths'; the
  // first key wins there too.
  std::sort(files.begin(), files.end());
  for (const auto& p : files) {
    FileInput in = load_file(p);
    if (!in.ok() || !in.loaded->certs.empty() || in.loaded->private_keys == 0) continue;
    auto k = key_from_bytes(in.key_bytes, in.path.string(), in.mode);
    in.wipe();
    if (k) return std::move(*k);
  }
  return std::nullopt;
}

std::optional<KeyRecord> paired_key_for(const fs::path& cert) {
  std::vector<fs::path> files;
  for (const auto& dir : pairing_dirs(cert)) {
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      const fs::path& p = it->path();
      std::error_code sec;
      // Regular files after following links (stat(2)), certificate-like: what the walk keeps.
      if (certificate_like_name(p) && fs::is_regular_file(p, sec)) files.push_back(p);
    }
  }
  return paired_key_among(cert, std::move(files));
}

Report judge_walked_file(const fs::path& path, const JudgeOptions& options,
                         const std::optional<KeyRecord>& paired_key, bool explicit_arg,
                         VerifyCache* cache) {
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
  VerifyCache local;
  auto trust = trust_of(options);
  Report rep = judge_impl(std::move(target), chain, key, options, *trust, cache ? *cache : local);
  if (chain.empty())
    rep.findings.push_back(make_finding(options.policy, "input.no_certificates", rep.target,
                                        "no certificate"));
  if (key) add_key_findings(*key, options, rep.findings);
  return rep;
}

Report judge_file(const fs::path& path, const JudgeOptions& options,
                  const std::optional<fs::path>& key_path, VerifyCache* cache) {
  VerifyCache local;
  auto trust = trust_of(options);
  FileInput in = load_file(path);
  std::vector<Finding> key_errors;
  std::optional<KeyRecord> key = key_path ? explicit_key(key_path, options, key_errors) : embedded_key(in);
  Report rep = judge_loaded(in, key, true, true, options, *trust, cache ? *cache : local);
  for (auto& f : key_errors) rep.findings.push_back(std::move(f));
  return rep;
}

namespace {

// The key of a key file (no certificate, at least one private key: what load_file and
// key_from_bytes find), or nullopt for any other file. PEM text without a private-key label
// is answered without parsing the certificates it holds. Bytes that may hold a key are wiped.
std::optional<KeyRecord> key_file_record(const fs::path& p) {
  auto peek = read_limited(p);
  if (!peek) return std::nullopt;  // load_file would not find a key either
  const bool pem = peek->find("-----BEGIN ") != std::string::npos;
  const bool key_label = peek->find("PRIVATE KEY-----") != std::string::npos;
  OPENSSL_cleanse(peek->data(), peek->size());
  if (pem && !key_label) return std::nullopt;
  FileInput in = load_file(p);
  std::optional<KeyRecord> out;
  if (in.ok() && in.loaded->certs.empty() && in.loaded->private_keys > 0) {
    if (auto k = key_from_bytes(in.key_bytes, in.path.string(), in.mode)) out = std::move(*k);
  }
  in.wipe();
  return out;
}

// A file of the walk as a pairing candidate: its key, read once on first demand.
struct PairingCandidate {
  std::once_flag once;
  std::optional<KeyRecord> key;
};

}  // namespace

std::vector<Report> judge_paths(std::span<const fs::path> paths, const JudgeOptions& options,
                                const std::optional<fs::path>& key_path, VerifyCache* cache) {
  VerifyCache local;
  VerifyCache& vc = cache ? *cache : local;
  auto trust = trust_of(options);
  const unsigned threads = worker_count(options);
  const std::vector<WalkEntry> entries = walk_paths(paths);

  // Keys: the explicit one for every file, or keys paired by stem.
  std::vector<Finding> key_errors;
  const std::optional<KeyRecord> given_key = explicit_key(key_path, options, key_errors);
  // Each file is loaded when it is judged and released after, so memory holds the reports,
  // not every parsed file. Pairing is by name: a certificate file's candidates are the other
  // files of its stem, in walk order, and the first that is a key file wins. A candidate is
  // opened once, by whichever worker needs it first.
  std::vector<std::string> stems(entries.size());
  std::unordered_map<std::string, std::vector<size_t>> by_stem;
  if (!key_path) {
    parallel_for(entries.size(), threads, [&](size_t i) {
      if (entries[i].error_id.empty()) stems[i] = pairing_stem(entries[i].path);
    });
    for (size_t i = 0; i < entries.size(); ++i)
      if (!stems[i].empty()) by_stem[stems[i]].push_back(i);
  }
  std::vector<PairingCandidate> candidates(entries.size());
  const auto paired_key = [&](size_t i) -> std::optional<KeyRecord> {
    auto it = by_stem.find(stems[i]);
    if (it == by_stem.end()) return std::nullopt;
    for (size_t j : it->second) {
      if (j == i) continue;
      PairingCandidate& c = candidates[j];
      std::call_once(c.once, [&] { c.key = key_file_record(entries[j].path); });
      if (c.key) return c.key;
    }
    return std::nullopt;
  };

  // In windows of files: all of a window loaded (in parallel), then judged (in parallel),
  // then released. Memory is bounded by the window; two separate parallel steps cost less
  // CPU than interleaving loads and judgements on both workers (measured, bench/RESULTS.md).
  constexpr size_t kWindow = 512;
  std::vector<Report> reports(entries.size());
  std::vector<char> is_key_file(entries.size(), 0);
  std::vector<FileInput> inputs;
  for (size_t base = 0; base < entries.size(); base += kWindow) {
    const size_t n = std::min(kWindow, entries.size() - base);
    inputs.clear();
    inputs.resize(n);
    parallel_for(n, threads, [&](size_t k) {
      const WalkEntry& e = entries[base + k];
      if (!e.error_id.empty()) {
        inputs[k].path = e.path;
        inputs[k].error_id = e.error_id;
        inputs[k].error = e.error;
      } else {
        inputs[k] = load_file(e.path);
      }
    });
    parallel_for(n, threads, [&](size_t k) {
      const size_t i = base + k;
      FileInput& in = inputs[k];
      const bool key_file = in.ok() && in.loaded->certs.empty() && in.loaded->private_keys > 0;
      is_key_file[i] = key_file ? 1 : 0;
      // --key pairs with the leaf: files whose first certificate is a CA (bundles, the
      // intermediate beside the chain) are judged without it.
      const bool holds_leaf = in.ok() && !in.loaded->certs.empty() && !in.loaded->certs.front().is_ca();
      std::optional<KeyRecord> key = holds_leaf ? given_key : std::nullopt;
      bool key_here = key.has_value();
      if (!key_path && !key_file) {
        key = embedded_key(in);
        key_here = key.has_value();
        if (!key) key = paired_key(i);
      }
      reports[i] = judge_loaded(in, key, key_here, entries[i].explicit_arg, options, *trust, vc);
      in.wipe();
    });
  }
  inputs.clear();

  std::vector<Report> out;
  for (size_t i = 0; i < reports.size(); ++i) {
    Report& r = reports[i];
    const bool keep = !r.certs.empty() || !r.findings.empty() ||
                      (entries[i].explicit_arg && is_key_file[i] == 0);
    if (keep) out.push_back(std::move(r));
  }
  if (!key_errors.empty()) {
    Report r;
    r.target = key_path->string();
    r.findings = std::move(key_errors);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace pki
