#include "agent/watch/file_source.h"

#include <malloc.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <set>

#include "agent/watch/paths.h"

namespace certwatch::agent {
namespace fs = std::filesystem;
namespace {

std::vector<fs::path> trust_files_of(const config::Config& cfg) {
  std::set<fs::path> files(cfg.trust.begin(), cfg.trust.end());
  for (const auto& w : cfg.watch)
    if (w.trust) files.insert(w.trust->begin(), w.trust->end());
  return {files.begin(), files.end()};
}

// Identity of the files' current contents as far as stat(2) tells: inode, size, mtime.
std::string stamp_of(const std::vector<fs::path>& files) {
  std::string out;
  for (const auto& f : files) {
    struct stat st {};
    if (::stat(f.c_str(), &st) != 0) {
      out += "-;";
      continue;
    }
    out += std::to_string(st.st_ino) + ':' + std::to_string(st.st_size) + ':' +
           std::to_string(st.st_mtim.tv_sec) + '.' + std::to_string(st.st_mtim.tv_nsec) + ';';
  }
  return out;
}

std::string join_paths(const std::vector<fs::path>& files) {
  std::string out;
  for (const auto& f : files) out += (out.empty() ? "" : ", ") + f.string();
  return out;
}

// The watch paths, and the trust bundles as file roots.
std::vector<WatchRoot> roots_of(const config::Config& cfg) {
  std::vector<WatchRoot> roots;
  for (const auto& w : cfg.watch) roots.push_back({w.path, w.recursive});
  for (const auto& t : trust_files_of(cfg)) roots.push_back({t, false});
  return roots;
}

std::chrono::milliseconds to_ms(std::chrono::seconds s) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(s);
}

}  // namespace

std::vector<std::string> file_targets_under(const Inventory& inventory, const fs::path& scope) {
  std::vector<std::string> out;
  const auto& entries = inventory.entries();
  // Every path inside `scope` starts with its text; the converse is checked by is_within.
  const TargetId first = file_target(scope.string());
  for (auto it = entries.lower_bound(first);
       it != entries.end() && it->first.source == SourceKind::file &&
       it->first.id.rfind(first.id, 0) == 0;
       ++it)
    if (is_within(it->first.id, scope)) out.push_back(it->first.id);
  return out;
}

FileSource::FileSource(boost::asio::io_context& io, Clock& clock, Inventory& inventory,
                       unsigned scan_threads, SourceSink& sink)
    : io_(io), clock_(clock), inventory_(inventory), scan_threads_(scan_threads), sink_(sink) {}

FileSource::~FileSource() {
  cancelled_ = true;
  join();
}

void FileSource::join() {
  if (pool_) pool_->join();
}

certwatch::Result<void> FileSource::start(const config::AgentConfig& agent) {
  pool_ = std::make_unique<ScanPool>(io_, scan_threads_);
  watcher_ = std::make_shared<FileWatcher>(
      io_, clock_,
      FileWatcherOptions{agent.debounce,
                         std::max(agent.debounce * 5, std::chrono::milliseconds(1000)),
                         to_ms(agent.rescan_interval)},
      [this](WatchChanges c) { on_changes(std::move(c)); });
  return watcher_->start();
}

void FileSource::stop() {
  stopping_ = true;
  cancelled_ = true;
  if (watcher_) watcher_->stop();
}

void FileSource::apply(const config::Config& cfg, bool initial) {
  const bool roots_changed =
      initial || !config_ || cfg.watch != config_->watch || trust_files_of(cfg) != trust_files_;
  const bool interval_changed =
      initial || !config_ || cfg.agent.rescan_interval != config_->agent.rescan_interval;
  config_ = cfg;
  contexts_ = make_watch_contexts(*config_, trust_store_);
  trust_files_ = trust_files_of(*config_);
  trust_stamp_ = stamp_of(trust_files_);
  if (roots_changed) watcher_->set_roots(roots_of(*config_));
  if (interval_changed) watcher_->set_rescan_interval(to_ms(config_->agent.rescan_interval));
  // Trust, thresholds or severities may have changed: every target is judged again.
  start_full_scan(!initial);
}

void FileSource::rejudge_due(int64_t now) {
  if (stopping_) return;
  TargetMap due;
  for (const auto& [id, e] : inventory_.entries()) {
    if (id.source != SourceKind::file || e.rejudge_at > now) continue;
    auto part = collect_targets(id.id, contexts_);
    due.merge(part);
  }
  if (due.empty()) return;
  spdlog::debug("{} targets crossed an expiry threshold: judging them again", due.size());
  submit_scans(due, {.rejudge = true});
}

void FileSource::on_changes(WatchChanges changes) {
  if (stopping_) return;
  // A changed trust bundle (the path itself, or a directory above it) changes every verdict.
  const bool trust_event =
      std::any_of(trust_files_.begin(), trust_files_.end(), [&](const fs::path& t) {
        return std::any_of(changes.paths.begin(), changes.paths.end(),
                           [&](const fs::path& p) { return is_within(t, p); });
      });
  if (reload_trust_if_changed(trust_event)) return;
  if (changes.full_rescan) {
    start_full_scan(false);
    return;
  }
  for (const auto& p : changes.paths) {
    if (!in_watch_scope(p, contexts_)) continue;
    TargetMap present = collect_targets(p, contexts_);
    remove_missing(p, present);
    submit_scans(present, ScanRequest{});
  }
  sink_.settled();
}

bool FileSource::reload_trust_if_changed(bool changed) {
  std::string stamp = stamp_of(trust_files_);
  if (!changed && stamp == trust_stamp_) return false;
  trust_stamp_ = std::move(stamp);
  spdlog::info("trust bundle changed ({}): reading the trust again and judging every target",
               join_paths(trust_files_));
  contexts_ = make_watch_contexts(*config_, trust_store_);
  start_full_scan(true);
  return true;
}

void FileSource::start_full_scan(bool force) {
  if (stopping_) return;
  if (scan_in_progress_) {
    scan_queued_ = true;
    scan_queued_force_ = scan_queued_force_ || force;
    return;
  }
  scan_in_progress_ = true;
  scan_started_ = std::chrono::steady_clock::now();
  TargetMap all = collect_all_targets(contexts_);
  // Targets no longer under any watch path (config change, or missed deletions).
  std::vector<std::string> gone;
  for (const auto& [id, e] : inventory_.entries())
    if (id.source == SourceKind::file && all.count(id.id) == 0) gone.push_back(id.id);
  for (const auto& t : gone) remove_target(t);
  pairing_index_.clear();
  for (const auto& [path, ctx] : all) index_target(path);
  submit_scans(all, {.rejudge = force, .full_scan = true});
  if (scan_pending_ == 0) finish_scan();
}

void FileSource::finish_scan() {
  scan_in_progress_ = false;
  if (stopping_) return;  // no READY/STATUS after STOPPING=1
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - scan_started_).count();
  compact_pairing_index();
  // The scan's garbage (file contents, OpenSSL objects, pool-thread arenas) goes back to the
  // system: what stays is the inventory and the registry.
  ::malloc_trim(0);
  first_scan_done_ = true;
  sink_.scan_finished(seconds);
  if (scan_queued_) {
    const bool force = scan_queued_force_;
    scan_queued_ = scan_queued_force_ = false;
    start_full_scan(force);
  }
}

void FileSource::submit_scans(const TargetMap& targets, ScanRequest request) {
  const bool force = request.rejudge;
  const bool full_scan = request.full_scan;
  const int64_t t = clock_.now();
  // Indexed first, so that every job of this batch sees keys of the same batch.
  for (const auto& [path, ctx] : targets) index_target(path);
  for (const auto& [path, ctx] : targets) {
    const std::string target = path.string();
    const InventoryEntry* known = inventory_.find(file_target(target));
    const FileState* known_file = known != nullptr ? known->file() : nullptr;
    const bool due = known != nullptr && known->rejudge_at <= t;
    const bool same_source = known_file != nullptr && known_file->watch == ctx->entry.path.string();
    if (!force && !due && same_source) {
      // Fast path: stat unchanged (the file and the key judged with it) means nothing to read
      // (inotify or the rescan would have changed the stamp otherwise). A key that appeared
      // is a new target itself: rejudge_partners() handles it.
      auto st = stat_file(path);
      bool same_key = true;
      if (known_file->key) {
        auto kst = stat_file(known_file->key->path);
        same_key = kst && *kst == known_file->key->stamp;
      }
      if (st && same_key && known_file->read_ok && known_file->stamp == *st) continue;
    }
    ScanJob job;
    job.path = path;
    job.context = ctx;
    job.now = t;
    if (!force && !due && same_source && known_file->read_ok) {
      job.known_hash = known_file->hash;
      job.known_key = known_file->key;
    }
    job.had_good_read = known_file != nullptr && known_file->read_ok && !known->certs.empty();
    job.key_candidates = pairing_partners(path);
    job.cache = &cache_;
    job.cancelled = &cancelled_;
    const uint64_t seq = ++next_seq_;
    job_seq_[target] = seq;
    if (full_scan) ++scan_pending_;
    pool_->submit(
        [job = std::move(job)] { return scan_file(job); },
        [this, seq, full_scan](ScanResult r) { on_result(std::move(r), seq, full_scan); });
  }
}

void FileSource::index_target(const fs::path& path) {
  auto& list = pairing_index_[pki::pairing_stem(path)];
  if (std::find(list.begin(), list.end(), path) == list.end()) list.push_back(path);
}

void FileSource::unindex_target(const fs::path& path) {
  const auto it = pairing_index_.find(pki::pairing_stem(path));
  if (it == pairing_index_.end()) return;
  std::erase(it->second, path);
  if (it->second.empty()) pairing_index_.erase(it);
}

std::vector<fs::path> FileSource::pairing_partners(const fs::path& path) const {
  const auto it = pairing_index_.find(pki::pairing_stem(path));
  if (it == pairing_index_.end()) return {};
  std::vector<fs::path> out;
  for (const auto& p : it->second)
    if (p != path) out.push_back(p);
  return out;
}

void FileSource::compact_pairing_index() {
  // After a full scan every target's kind is known: certificate jobs only need the key files
  // of their stem, so the index keeps those (and targets not judged yet). Certificates are
  // found from a changed key by a pass over the inventory instead (rare, and O(files)).
  for (auto it = pairing_index_.begin(); it != pairing_index_.end();) {
    std::erase_if(it->second, [this](const fs::path& p) {
      const InventoryEntry* e = inventory_.find(file_target(p.string()));
      return e != nullptr && e->file() != nullptr && !e->file()->key_file;
    });
    it = it->second.empty() ? pairing_index_.erase(it) : std::next(it);
  }
}

void FileSource::rejudge_partners(const fs::path& key_file) {
  if (stopping_) return;
  const std::string stem = pki::pairing_stem(key_file);
  TargetMap partners;
  for (const auto& [id, e] : inventory_.entries()) {
    const FileState* f = e.file();
    if (f == nullptr || f->key_file || id.id == key_file.string())
      continue;  // another key: nothing to compare
    const fs::path p(id.id);
    if (pki::pairing_stem(p) != stem) continue;
    auto part = collect_targets(p, contexts_);
    partners.merge(part);
  }
  if (partners.empty()) return;
  spdlog::debug("{}: key changed, judging {} paired file(s) again", key_file.string(),
                partners.size());
  submit_scans(partners, {.rejudge = true});
}

void FileSource::on_result(ScanResult r, uint64_t seq, bool full_scan) {
  const std::string target = r.path.string();
  const auto it = job_seq_.find(target);
  const bool latest = it != job_seq_.end() && it->second == seq;
  if (latest) job_seq_.erase(it);
  // Caught mid-rewrite: the last stable judgement stays until a read is stable (issue 15); the
  // next expiry pass (rejudge_check) reads the file again if no event comes first.
  if (r.unstable && inventory_.find(file_target(target)) != nullptr) {
    inventory_.recheck_by(file_target(target), clock_.now());
    r.cancelled = true;
  }
  if (!stopping_ && !r.cancelled && latest) {
    if (r.read_error) sink_.read_errors(1);
    const TargetId id = file_target(target);
    if (r.unchanged) {
      if (auto* state = inventory_.source_state(id))
        if (auto* f = std::get_if<FileState>(state)) f->stamp = r.entry.file()->stamp;
    } else {
      const InventoryEntry* before = inventory_.find(id);
      const bool key_changed =
          (before != nullptr && before->file() != nullptr && before->file()->key_file) ||
          r.entry.file()->key_file;
      // prepare() interns the records and copies the rest onto this (long-lived) thread, so
      // the pool's arena holds only scan garbage and can be returned to the system.
      (void)inventory_.observe(id, inventory_.prepare(std::move(r.entry)));
      if (!full_scan) sink_.settled();
      // The initial scan judges every certificate with the keys as they are: nothing to redo.
      if (key_changed && first_scan_done_) rejudge_partners(r.path);
    }
  }
  if (full_scan && --scan_pending_ == 0 && scan_in_progress_) finish_scan();
}

void FileSource::remove_target(const std::string& path) {
  const TargetId id = file_target(path);
  const InventoryEntry* old = inventory_.find(id);
  if (old == nullptr) return;
  const bool key_file = old->file() != nullptr && old->file()->key_file;
  (void)inventory_.remove(id);
  job_seq_.erase(path);  // a job in flight for it is dropped on arrival
  unindex_target(path);
  spdlog::info("{}: removed", path);
  if (key_file) rejudge_partners(path);
}

void FileSource::remove_missing(const fs::path& scope, const TargetMap& present) {
  std::vector<std::string> gone;
  for (auto& t : file_targets_under(inventory_, scope))
    if (present.count(t) == 0) gone.push_back(std::move(t));
  for (const auto& t : gone) remove_target(t);
}

}  // namespace certwatch::agent
