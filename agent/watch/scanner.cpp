#include "agent/watch/scanner.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <limits>

#include "agent/inventory/rejudge_time.h"
#include "agent/watch/paths.h"
#include "pki/judge/finding.h"
#include "pki/load/dir_walk.h"
#include "pki/load/load.h"

namespace certwatch::agent {
namespace fs = std::filesystem;
namespace {

bool lstat_exists(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

bool is_dir_link(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
}

bool is_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

// PEM text holding private keys and no certificate: a key file, which pairs with nothing
// itself (pki::judge_walked_file ignores a paired key for it), so no partner is opened.
bool looks_like_key_only(std::string_view bytes) {
  return bytes.find("PRIVATE KEY-----") != std::string_view::npos &&
         bytes.find("-----BEGIN CERTIFICATE") == std::string_view::npos &&
         bytes.find("-----BEGIN TRUSTED CERTIFICATE") == std::string_view::npos;
}

// The rule of `certwatch check DIR` (pki/load/dir_walk.h). Every entry becomes a target, the
// unusable ones too: a dangling link or a directory that cannot be listed (a path beyond
// PATH_MAX, an I/O error) must not vanish with a log line only; the scan reports it
// input.unreadable with why.
void walk_dir(const fs::path& dir, const std::shared_ptr<const WatchContext>& ctx, bool recursive,
              TargetMap& out) {
  for (auto& e : pki::walk_dir(dir, pki::WalkRules{recursive, ctx->entry.exclude})) {
    if (e.error && is_dir(e.path)) spdlog::warn("cannot list {}", e.error->message);
    out.emplace(std::move(e.path), ctx);  // first entry wins
  }
}

}  // namespace

std::vector<std::shared_ptr<const WatchContext>> make_watch_contexts(const config::Config& cfg,
                                                                     pki::TrustStore& trust) {
  std::vector<std::shared_ptr<const WatchContext>> out;
  for (const auto& e : cfg.watch) {
    auto ctx = std::make_shared<WatchContext>();
    ctx->entry = e;
    ctx->judge = config::judge_context(cfg, e, trust);
    for (const auto& err : ctx->judge.trust_errors())
      spdlog::warn("trust for {}: {}", e.path.string(), err);
    out.push_back(std::move(ctx));
  }
  return out;
}

TargetMap collect_targets(const fs::path& scope,
                          const std::vector<std::shared_ptr<const WatchContext>>& contexts) {
  TargetMap out;
  for (const auto& ctx : contexts) {
    const fs::path& root = ctx->entry.path;
    if (!is_dir(root)) {
      // A file entry: always a target while it exists (even as a dangling or looping link).
      if (is_within(root, scope) && lstat_exists(root)) out.emplace(root, ctx);
      continue;
    }
    if (is_within(root, scope)) {
      walk_dir(root, ctx, ctx->entry.recursive, out);
    } else if (is_within(scope, root)) {
      const bool direct = scope.parent_path() == root;
      if (!ctx->entry.recursive && !direct) continue;
      if (is_dir(scope)) {
        // A link to a directory is not followed here either: the full scan's rule (walk_dir).
        if (ctx->entry.recursive && !is_dir_link(scope)) walk_dir(scope, ctx, true, out);
      } else if (lstat_exists(scope) && pki::selected_in_dir(scope, ctx->entry.exclude)) {
        out.emplace(scope, ctx);
      }
    }
  }
  return out;
}

TargetMap collect_all_targets(const std::vector<std::shared_ptr<const WatchContext>>& contexts) {
  TargetMap out;
  for (const auto& ctx : contexts) {
    auto part = collect_targets(ctx->entry.path, {ctx});
    out.merge(part);  // keys already present stay with the earlier entry
  }
  return out;
}

bool in_watch_scope(const fs::path& scope,
                    const std::vector<std::shared_ptr<const WatchContext>>& contexts) {
  return std::any_of(contexts.begin(), contexts.end(), [&](const auto& ctx) {
    return is_within(scope, ctx->entry.path) || is_within(ctx->entry.path, scope);
  });
}

ScanResult scan_file(const ScanJob& job) {
  ScanResult res;
  res.path = job.path;
  res.context = job.context;
  if (job.cancelled != nullptr && job.cancelled->load()) {
    res.cancelled = true;
    return res;
  }
  const auto& ctx = *job.context;
  InventoryEntry& e = res.entry;
  FileState& file = e.state.emplace<FileState>();
  file.watch = ctx.entry.path.string();
  e.report.target = job.path.string();
  try {
    auto content = stable_read(job.path);
    if (!content) {
      res.read_error = true;
      res.unstable = is_unstable_read(content.error());
      auto st = stat_file(job.path);
      if (st) file.stamp = *st;
      // Over the size cap is input.malformed, as `check` says (pki::load_file).
      const bool too_big = st && static_cast<std::uintmax_t>(st->size) > pki::kMaxInputBytes;
      e.report.findings.push_back(
          pki::make_finding(ctx.judge.options.policy,
                            too_big ? pki::fid::input_malformed : pki::fid::input_unreadable,
                            job.path.string(), content.error().message));
      return res;
    }
    file.stamp = content->stamp;
    file.hash = content->hash;
    file.read_ok = true;
    // The entry's own `key` for its file (as `check --key`), or the key check pairs by stem.
    const bool entry_key = ctx.entry.key && job.path == ctx.entry.path;
    std::optional<pki::KeyRecord> paired;
    if (entry_key) {
      if (auto st = stat_file(*ctx.entry.key))
        file.key = std::make_shared<const KeyIdentity>(
            KeyIdentity{ctx.entry.key->string(), *st, {}, false});
    } else if (!looks_like_key_only(content->bytes)) {
      paired = pki::paired_key_among(job.path, job.key_candidates);
      if (paired) file.key = key_identity(*paired);
    }
    if (job.known_hash && *job.known_hash == content->hash && same_key(job.known_key, file.key)) {
      res.unchanged = true;
      return res;
    }
    const pki::JudgeOptions opts = ctx.judge.at(job.now);
    if (entry_key)
      e.report = pki::judge_file(job.path, opts, ctx.entry.key, job.cache);
    else
      e.report =
          pki::judge_walked_file(job.path, opts, paired, job.path == ctx.entry.path, job.cache);
    file.key_file = e.report.certs.empty() && e.report.key.has_value();
    // A rewrite in place caught half-way (empty, or cut short) reads as a broken file. Such a
    // verdict replaces a good read only once the file has been quiet for a second; until
    // then the last stable judgement stays (issue 15).
    const bool broken =
        std::any_of(e.report.findings.begin(), e.report.findings.end(), [](const pki::Finding& f) {
          return f.id == pki::fid::input_no_certificates || f.id == pki::fid::input_malformed;
        });
    if (broken && job.had_good_read && modified_within(file.stamp, std::chrono::seconds(1)))
      res.unstable = true;
    e.rejudge_at = next_rejudge_time(e.report, ctx.judge.options.thresholds, job.now);
    for (const auto& f : e.report.findings)
      if (f.id == pki::fid::input_unreadable || f.id == pki::fid::input_malformed)
        res.read_error = true;
  } catch (const std::exception& ex) {
    // The judge reports input problems as findings; anything thrown is a bug or out of memory.
    // Keep the agent running and make it visible on this target.
    res.read_error = true;
    std::get<FileState>(e.state).read_ok = false;
    e.report.certs.clear();
    e.report.findings = {pki::make_finding(ctx.judge.options.policy, pki::fid::input_unreadable,
                                           job.path.string(),
                                           std::string("internal error: ") + ex.what())};
  }
  return res;
}

std::shared_ptr<const KeyIdentity> key_identity(const pki::KeyRecord& key) {
  auto st = stat_file(key.path);
  if (!st) return nullptr;
  return std::make_shared<const KeyIdentity>(
      KeyIdentity{key.path, *st, key.spki_sha256, key.encrypted});
}

}  // namespace certwatch::agent
