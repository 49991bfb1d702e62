#include "agent/daemon.h"

#include <malloc.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <set>
#include <utility>

#include <spdlog/spdlog.h>

#include "config/loader.h"
#include "exporters/metric_names.h"
#include "exporters/metrics.h"

namespace certwatch::agent {
namespace fs = std::filesystem;
namespace {

// Bodies from this size on are sent gzipped to clients that ask (/metrics compresses its own).
constexpr std::size_t kGzipMinBytes = 1024;

int64_t system_now() { return static_cast<int64_t>(std::time(nullptr)); }

bool is_within(const fs::path& p, const fs::path& base) {
  auto rel = p.lexically_relative(base);
  return !rel.empty() && *rel.begin() != "..";
}

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

void log_config_errors(const std::string& message) {
  // One problem per line, each "FILE:LINE:COL: message".
  std::size_t start = 0;
  while (start < message.size()) {
    auto end = message.find('\n', start);
    if (end == std::string::npos) end = message.size();
    if (end > start) spdlog::error("{}", message.substr(start, end - start));
    start = end + 1;
  }
}

}  // namespace

Daemon::Daemon(boost::asio::io_context& io, DaemonOptions options)
    : io_(io),
      options_(std::move(options)),
      signals_(io),
      watchdog_timer_(io),
      rejudge_timer_(io),
      hup_timer_(io) {
  if (!options_.clock) options_.clock = system_now;
  status_.config_path = options_.config_path.string();
  status_.started_at = now();
}

Daemon::~Daemon() {
  cancelled_ = true;
  if (pool_) pool_->join();
}

int Daemon::run() {
  // 1. config: nothing starts on an invalid one.
  auto cfg = config::load_config(options_.config_path);
  if (!cfg) {
    log_config_errors(cfg.error().message);
    spdlog::critical("invalid configuration {}, not starting", options_.config_path.string());
    return 3;
  }
  // 2. listeners (an unusable address is fatal at start, never on reload).
  if (auto r = start_http(cfg->http); !r) {
    spdlog::critical("{}", r.error().message);
    return 1;
  }
  pool_ = std::make_unique<ScanPool>(io_, options_.scan_threads);
  watcher_ = std::make_shared<FileWatcher>(
      io_, FileWatcherOptions{cfg->agent.debounce, std::max(cfg->agent.debounce * 5, std::chrono::milliseconds(1000)),
                              std::chrono::duration_cast<std::chrono::milliseconds>(cfg->agent.rescan_interval)},
      [this](WatchChanges c) { on_changes(std::move(c)); });
  if (auto r = watcher_->start(); !r) {
    spdlog::critical("{}", r.error().message);
    return 1;
  }
  wait_signals();
  // 3. first scan; READY=1 when it is done (finish_scan).
  notify_.status("initial scan");
  arm_watchdog();
  apply_config(std::move(*cfg), true);
  arm_rejudge();
  // 4. loop: returns when shutdown() has closed everything and the last job completed.
  io_.run();
  spdlog::info("stopped");
  return 0;
}

bool Daemon::apply_config(config::Config cfg, bool initial) {
  const bool roots_changed =
      initial || cfg.watch != config_.watch || trust_files_of(cfg) != trust_files_of(config_);
  const bool interval_changed = initial || cfg.agent.rescan_interval != config_.agent.rescan_interval;
  const bool state_changed = initial || cfg.agent.state_dir != config_.agent.state_dir;
  config_ = std::move(cfg);
  if (state_changed) {
    // Nothing is stored there yet (the renewal will); made now so that a wrong path shows
    // at start, not at the first renewal. Under systemd, StateDirectory= made it already.
    std::error_code ec;
    const bool created = fs::create_directories(config_.agent.state_dir, ec);
    if (ec)
      spdlog::warn("state directory {}: {}", config_.agent.state_dir.string(), ec.message());
    else if (created)
      fs::permissions(config_.agent.state_dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  }
  contexts_ = make_watch_contexts(config_);
  trust_files_ = trust_files_of(config_);
  trust_stamp_ = stamp_of(trust_files_);
  if (roots_changed) watcher_->set_roots(roots_of(config_));
  if (interval_changed)
    watcher_->set_rescan_interval(
        std::chrono::duration_cast<std::chrono::milliseconds>(config_.agent.rescan_interval));
  metrics_.config_loaded(true, now());
  status_.last_config_error.clear();
  spdlog::info("configuration {}: {} watch entries, HTTP on {}", config_.source.string(),
               config_.watch.size(), config_.http.listen.to_string());
  // Trust, thresholds or severities may have changed: every target is judged again.
  start_full_scan(!initial);
  return true;
}

void Daemon::wait_signals() {
  signals_.add(SIGHUP);
  signals_.add(SIGTERM);
  signals_.add(SIGINT);
  signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec || stopping_) return;
    on_signal(sig);
    if (!stopping_) wait_signals();
  });
}

void Daemon::on_signal(int sig) {
  if (sig == SIGHUP) {
    // A SIGHUP storm is one reload (and one log line), not one per signal: signals within
    // kHupSettle of the first, or during the reload's rescan, merge into it.
    if (hups_pending_++ == 0) arm_hup_timer();
  } else {
    spdlog::info("signal {}: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    shutdown();
  }
}

void Daemon::arm_hup_timer() {
  hup_timer_.expires_after(std::chrono::milliseconds(100));
  hup_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    if (reloading_) return arm_hup_timer();  // the previous reload's rescan is still running
    if (const int merged = std::exchange(hups_pending_, 0); merged > 1)
      spdlog::info("{} SIGHUPs merged into one reload", merged);
    reload();
  });
}

void Daemon::reload() {
  spdlog::info("SIGHUP: reloading {}", options_.config_path.string());
  notify_.reloading("reloading configuration");
  auto cfg = config::load_config(options_.config_path);
  if (!cfg) {
    log_config_errors(cfg.error().message);
    spdlog::error("reload refused: keeping the previous configuration");
    status_.last_config_error = cfg.error().message;
    metrics_.config_loaded(false, now());
    notify_.ready("reload refused (invalid config), running on the previous one; " + status_line());
    return;
  }
  // The rest of a valid config is applied even if its new listen address is unusable; the
  // reload then counts as failed (metric 0, the reason on the status page) while the old
  // listener keeps serving.
  std::string http_error;
  if (cfg->http != config_.http) {
    if (auto r = start_http(cfg->http); !r) {
      http_error = r.error().message + "; still serving on " + config_.http.listen.to_string();
      spdlog::error("reload: {}", http_error);
      cfg->http = config_.http;
    }
  }
  reloading_ = true;
  apply_config(std::move(*cfg), false);  // READY=1 when the rescan is done
  if (!http_error.empty()) {
    metrics_.config_loaded(false, now());
    status_.last_config_error = http_error;
  }
}

void Daemon::shutdown() {
  if (stopping_) return;
  stopping_ = true;
  cancelled_ = true;
  notify_.stopping("stopping");
  boost::system::error_code ec;
  signals_.cancel(ec);
  watchdog_timer_.cancel();
  rejudge_timer_.cancel();
  hup_timer_.cancel();
  if (watcher_) watcher_->stop();
  stop_http();
}

void Daemon::arm_watchdog() {
  auto interval = notify_.watchdog_interval();
  if (!interval || stopping_) return;
  notify_.watchdog();
  watchdog_timer_.expires_after(*interval);
  watchdog_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec && !stopping_) arm_watchdog();
  });
}

void Daemon::arm_rejudge() {
  if (stopping_) return;
  rejudge_timer_.expires_after(options_.rejudge_check);
  rejudge_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    const int64_t t = now();
    TargetMap due;
    for (const auto& [target, e] : inventory_.entries()) {
      if (e.rejudge_at > t) continue;
      auto part = collect_targets(target, contexts_);
      due.merge(part);
    }
    if (!due.empty()) {
      spdlog::debug("{} targets crossed an expiry threshold: judging them again", due.size());
      observe(due, true, false);
    }
    arm_rejudge();
  });
}

void Daemon::on_changes(WatchChanges changes) {
  if (stopping_) return;
  // A changed trust bundle (the path itself, or a directory above it) changes every verdict.
  const bool trust_event = std::any_of(trust_files_.begin(), trust_files_.end(), [&](const fs::path& t) {
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
    observe(present, false, false);
  }
  update_self_metrics();
}

bool Daemon::reload_trust_if_changed(bool changed) {
  std::string stamp = stamp_of(trust_files_);
  if (!changed && stamp == trust_stamp_) return false;
  trust_stamp_ = std::move(stamp);
  spdlog::info("trust bundle changed ({}): reading the trust again and judging every target",
               join_paths(trust_files_));
  contexts_ = make_watch_contexts(config_);
  start_full_scan(true);
  return true;
}

void Daemon::start_full_scan(bool force) {
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
  for (const auto& [target, e] : inventory_.entries())
    if (all.count(target) == 0) gone.push_back(target);
  for (const auto& t : gone) remove_target(t);
  pairing_index_.clear();
  for (const auto& [path, ctx] : all) index_target(path);
  observe(all, force, true);
  if (scan_pending_ == 0) finish_scan();
}

void Daemon::finish_scan() {
  scan_in_progress_ = false;
  if (stopping_) return;  // no READY/STATUS after STOPPING=1
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - scan_started_).count();
  status_.last_scan_at = now();
  status_.last_scan_seconds = seconds;
  metrics_.scan_finished(seconds, status_.last_scan_at);
  update_self_metrics();
  compact_pairing_index();
  // The scan's garbage (file contents, OpenSSL objects, pool-thread arenas) goes back to the
  // system: what stays is the inventory and the registry.
  ::malloc_trim(0);
  if (!status_.ready) {
    status_.ready = true;
    spdlog::info("initial scan: {} files, {} certificates in {:.3f} s", inventory_.size(),
                 inventory_.certificate_count(), seconds);
    notify_.ready(status_line());
  } else if (reloading_) {
    reloading_ = false;
    spdlog::info("reload done: {} files, {} certificates in {:.3f} s", inventory_.size(),
                 inventory_.certificate_count(), seconds);
    notify_.ready(status_line());
  } else {
    spdlog::debug("rescan: {} files in {:.3f} s", inventory_.size(), seconds);
    notify_.status(status_line());
  }
  if (scan_queued_) {
    const bool force = scan_queued_force_;
    scan_queued_ = scan_queued_force_ = false;
    start_full_scan(force);
  }
}

void Daemon::observe(const TargetMap& targets, bool force, bool full_scan) {
  const int64_t t = now();
  // Indexed first, so that every job of this batch sees keys of the same batch.
  for (const auto& [path, ctx] : targets) index_target(path);
  for (const auto& [path, ctx] : targets) {
    const std::string target = path.string();
    const InventoryEntry* known = inventory_.find(target);
    const bool due = known != nullptr && known->rejudge_at <= t;
    const bool same_source = known != nullptr && known->source == ctx->entry.path.string();
    if (!force && !due && same_source && known != nullptr) {
      // Fast path: stat unchanged (the file and the key judged with it) means nothing to read
      // (inotify or the rescan would have changed the stamp otherwise). A key that appeared
      // is a new target itself: rejudge_partners() handles it.
      auto st = stat_file(path);
      bool same_key = true;
      if (known->key) {
        auto kst = stat_file(known->key->path);
        same_key = kst && *kst == known->key->stamp;
      }
      if (st && same_key && inventory_.same_stamp(target, *st)) continue;
    }
    ScanJob job;
    job.path = path;
    job.context = ctx;
    job.now = t;
    if (!force && !due && same_source && known != nullptr && known->read_ok) {
      job.known_hash = known->hash;
      job.known_key = known->key;
    }
    job.key_candidates = pairing_partners(path);
    job.cache = &cache_;
    job.cancelled = &cancelled_;
    const uint64_t seq = ++next_seq_;
    job_seq_[target] = seq;
    if (full_scan) ++scan_pending_;
    pool_->submit([job = std::move(job)] { return scan_file(job); },
                  [this, seq, full_scan](ScanResult r) { on_result(std::move(r), seq, full_scan); });
  }
}

void Daemon::index_target(const fs::path& path) {
  auto& list = pairing_index_[pki::pairing_stem(path)];
  if (std::find(list.begin(), list.end(), path) == list.end()) list.push_back(path);
}

void Daemon::unindex_target(const fs::path& path) {
  const auto it = pairing_index_.find(pki::pairing_stem(path));
  if (it == pairing_index_.end()) return;
  std::erase(it->second, path);
  if (it->second.empty()) pairing_index_.erase(it);
}

std::vector<fs::path> Daemon::pairing_partners(const fs::path& path) const {
  const auto it = pairing_index_.find(pki::pairing_stem(path));
  if (it == pairing_index_.end()) return {};
  std::vector<fs::path> out;
  for (const auto& p : it->second)
    if (p != path) out.push_back(p);
  return out;
}

void Daemon::compact_pairing_index() {
  // After a full scan every target's kind is known: certificate jobs only need the key files
  // of their stem, so the index keeps those (and targets not judged yet). Certificates are
  // found from a changed key by a pass over the inventory instead (rare, and O(files)).
  for (auto it = pairing_index_.begin(); it != pairing_index_.end();) {
    std::erase_if(it->second, [this](const fs::path& p) {
      const InventoryEntry* e = inventory_.find(p.string());
      return e != nullptr && !e->key_file;
    });
    it = it->second.empty() ? pairing_index_.erase(it) : std::next(it);
  }
}

void Daemon::rejudge_partners(const fs::path& key_file) {
  if (stopping_) return;
  const std::string stem = pki::pairing_stem(key_file);
  TargetMap partners;
  for (const auto& [target, e] : inventory_.entries()) {
    if (e.key_file || target == key_file.string()) continue;  // another key: nothing to compare
    const fs::path p(target);
    if (pki::pairing_stem(p) != stem) continue;
    auto part = collect_targets(p, contexts_);
    partners.merge(part);
  }
  if (partners.empty()) return;
  spdlog::debug("{}: key changed, judging {} paired file(s) again", key_file.string(), partners.size());
  observe(partners, true, false);
}

void Daemon::on_result(ScanResult r, uint64_t seq, bool full_scan) {
  const std::string target = r.path.string();
  const auto it = job_seq_.find(target);
  const bool latest = it != job_seq_.end() && it->second == seq;
  if (latest) job_seq_.erase(it);
  // Caught mid-rewrite: the last stable judgement stays until a read is stable (issue 15); the
  // next expiry pass (rejudge_check) reads the file again if no event comes first.
  if (r.unstable && inventory_.find(target) != nullptr) {
    inventory_.recheck_by(target, now());
    r.cancelled = true;
  }
  if (!stopping_ && !r.cancelled && latest) {
    if (r.read_error) metrics_.add_read_errors(1);
    if (r.unchanged) {
      inventory_.update_stamp(target, r.entry.stamp);
    } else {
      // prepare() interns the records and copies the rest onto this (long-lived) thread, so
      // the pool's arena holds only scan garbage and can be returned to the system.
      const InventoryEntry* before = inventory_.find(target);
      const bool key_changed = (before != nullptr && before->key_file) || r.entry.key_file;
      InventoryEntry kept = inventory_.prepare(std::move(r.entry));
      metrics_.update_target(target, exporters::metric_names::kSourceFile, inventory_.find(target), &kept);
      const auto change = inventory_.observe(target, std::move(kept));
      const bool quiet = !status_.ready;  // the initial scan is summarised, not listed
      if (change.kind == ChangeKind::added && !quiet) spdlog::info("{}: new target", target);
      if (change.kind == ChangeKind::changed && change.certs_changed)
        spdlog::info("{}: certificates changed", target);
      for (const auto& f : change.raised) {
        if (quiet && f.severity != pki::Severity::critical) continue;
        spdlog::log(f.severity >= pki::Severity::unknown ? spdlog::level::warn : spdlog::level::info,
                    "{}: {} [{}] {}", f.target, f.id, pki::to_string(f.severity), f.message);
      }
      for (const auto& f : change.cleared)
        if (!quiet) spdlog::info("{}: {} cleared", f.target, f.id);
      if (!full_scan) update_self_metrics();
      // The initial scan judges every certificate with the keys as they are: nothing to redo.
      if (key_changed && status_.ready) rejudge_partners(r.path);
    }
  }
  if (full_scan && --scan_pending_ == 0 && scan_in_progress_) finish_scan();
}

void Daemon::remove_target(const std::string& target) {
  const InventoryEntry* old = inventory_.find(target);
  if (old == nullptr) return;
  const bool key_file = old->key_file;
  metrics_.update_target(target, exporters::metric_names::kSourceFile, old, nullptr);
  (void)inventory_.remove(target);
  job_seq_.erase(target);  // a job in flight for it is dropped on arrival
  unindex_target(target);
  spdlog::info("{}: removed", target);
  if (key_file) rejudge_partners(target);
}

void Daemon::remove_missing(const fs::path& scope, const TargetMap& present) {
  std::vector<std::string> gone;
  const std::string prefix = scope.string();
  const auto& entries = inventory_.entries();
  // Every path inside `scope` starts with its text; the converse is checked by is_within.
  for (auto it = entries.lower_bound(prefix); it != entries.end() && it->first.rfind(prefix, 0) == 0; ++it)
    if (is_within(it->first, scope) && present.count(it->first) == 0) gone.push_back(it->first);
  for (const auto& t : gone) remove_target(t);
}

void Daemon::update_self_metrics() {
  status_.files = inventory_.size();
  metrics_.set_files_watched(inventory_.size());
  metrics_.set_certificates(inventory_.certificate_count());
  metrics_.set_directories_watched(watcher_ ? watcher_->watch_count() : 0);
}

std::string Daemon::status_line() const {
  std::size_t findings = 0;
  for (const auto& [t, e] : inventory_.entries()) findings += e.report.findings.size();
  return "watching " + std::to_string(inventory_.size()) + " files, " +
         std::to_string(inventory_.certificate_count()) + " certificates, " +
         std::to_string(findings) + " findings";
}

HttpResponse Daemon::serve(const HttpRequest& req) {
  const std::string_view path = req.path;
  HttpResponse r;
  if (path == "/metrics") {
    r.content_type = std::string(exporters::kPrometheusContentType);
    // Compressed once per change by AgentMetrics, not by the server on every scrape; a
    // Content-Encoding set here tells the server not to compress again.
    const auto accept = req.headers[boost::beast::http::field::accept_encoding];
    if (accepts_gzip({accept.data(), accept.size()}) && !metrics_.gzipped().empty()) {
      r.body = metrics_.gzipped();
      r.headers.emplace_back("Content-Encoding", "gzip");
      r.headers.emplace_back("Vary", "Accept-Encoding");
    } else {
      r.body = metrics_.render();
    }
  } else if (path == "/healthz") {
    r.status = status_.ready ? 200 : 503;
    r.body = render_health(status_);
  } else if (path == "/api/v1/certificates") {
    r.content_type = "application/json";
    r.body = render_certificates_json(inventory_, now());
  } else if (path == "/") {
    r.content_type = "text/html; charset=utf-8";
    r.body = render_status_html(inventory_, status_, now());
  } else {
    r.status = 404;
    r.body = "not found\n";
  }
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

pki::Result<void> Daemon::start_http(const config::HttpConfig& http) {
  HttpServerOptions o;
  o.address = http.listen.host;
  o.port = http.listen.port;
  o.read_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(http.request_timeout);
  o.write_timeout = o.read_timeout * 3;
  o.header_limit = http.max_header_bytes;
  o.body_limit = http.max_body_bytes;
  o.max_connections = http.max_connections;
  o.max_connections_per_client = http.max_connections_per_client;
  o.gzip_min_bytes = kGzipMinBytes;
  auto server = std::make_unique<HttpServer>(io_, o);
  for (const char* path : {"/metrics", "/healthz", "/api/v1/certificates", "/"})
    server->route(path, [this](const HttpRequest& req) { return serve(req); });
  if (auto r = server->start(); !r)
    return pki::make_error("cannot listen on " + http.listen.to_string() + ": " + r.error().message);
  spdlog::info("serving /metrics, /healthz, /api/v1/certificates and / on {}:{}", o.address,
               server->port());
  // A new listener replaces the old one only once it is up (reload keeps serving otherwise).
  if (http_) http_->stop();
  http_ = std::move(server);
  return {};
}

void Daemon::stop_http() {
  if (http_) http_->stop();
}

}  // namespace certwatch::agent
