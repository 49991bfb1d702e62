#include "pki/judge/judge_paths.h"

#include <algorithm>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "pki/judge/judge_internal.h"
#include "pki/judge/parallel_for.h"
#include "pki/load/load.h"
#include "pki/load/pairing.h"

namespace certwatch::pki {
namespace fs = std::filesystem;

namespace {

unsigned worker_count(const JudgeOptions& o) {
  if (o.threads != 0) return o.threads;
  return std::clamp(std::thread::hardware_concurrency(), 1u, 8u);
}

// A file of the walk as a pairing candidate: its key, read once on first demand.
struct PairingCandidate {
  std::once_flag once;
  std::optional<KeyRecord> key;
};

}  // namespace

std::vector<Report> judge_paths(std::span<const fs::path> paths, const JudgeOptions& options,
                                const std::optional<fs::path>& key_path, VerifyCache* cache) {
  require_instant(options);
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
      if (!entries[i].error) stems[i] = pairing_stem(entries[i].path);
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
      if (e.error) {
        inputs[k].path = e.path;
        inputs[k].loaded = *e.error;  // the walk could not use it (pki/load/dir_walk.cpp)
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
      const bool holds_leaf =
          in.ok() && !in.loaded->certs.empty() &&
          (in.loaded->unordered ? std::any_of(in.loaded->certs.begin(), in.loaded->certs.end(),
                                              [](const Certificate& c) { return !c.is_ca(); })
                                : !in.loaded->certs.front().is_ca());
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
    const bool keep =
        !r.certs.empty() || !r.findings.empty() || (entries[i].explicit_arg && is_key_file[i] == 0);
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

}  // namespace certwatch::pki
