#include "agent/daemon/daemon.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <utility>

#include "agent/acme/client_registry.h"
#include "agent/daemon/change_log.h"
#include "agent/http/routes.h"
#include "agent/process/argv_runner.h"
#include "config/loader.h"

namespace certwatch::agent {
namespace fs = std::filesystem;
namespace {

// Bodies from this size on are sent gzipped to clients that ask (/metrics compresses its own).
constexpr std::size_t kGzipMinBytes = 1024;

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
      own_clock_(options_.clock != nullptr ? nullptr : std::make_unique<SystemClock>(io)),
      clock_(options_.clock != nullptr ? options_.clock : own_clock_.get()),
      files_(io, *clock_, inventory_, options_.scan_threads, *this),
      endpoints_(io, *clock_, inventory_, *this),
      renew_(io, *clock_, inventory_, *this),
      ledger_(*clock_, inventory_),
      signals_(io),
      watchdog_timer_(io),
      rejudge_timer_(clock_->make_timer()),
      hup_timer_(io) {
  status_.config_path = options_.config_path.string();
  status_.started_at = now();
  // Every observation reaches the consumers of the findings diff in one place.
  inventory_.subscribe(
      [this](const InventoryChange& c, const InventoryEntry* old, const InventoryEntry* fresh) {
        metrics_.update_target(c.target, old, fresh);
      });
  inventory_.subscribe(make_change_log([this] { return !files_.first_scan_done(); }));
  inventory_.subscribe(
      [this](const InventoryChange& c, const InventoryEntry* old, const InventoryEntry* fresh) {
        if (alerts_) alerts_->on_change(c, old, fresh);
      });
}

Daemon::~Daemon() {
  renew_.stop();
  ledger_.stop();
  endpoints_.stop();
  files_.stop();
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
  if (auto r = files_.start(cfg->agent); !r) {
    spdlog::critical("{}", r.error().message);
    return 1;
  }
  wait_signals();
  // 3. first scan; READY=1 when it is done (scan_finished).
  notify_.status("initial scan");
  arm_watchdog();
  apply_config(std::move(*cfg), true);
  arm_rejudge();
  // 4. loop: returns when shutdown() has closed everything and the last job completed.
  io_.run();
  files_.join();
  spdlog::info("stopped");
  return 0;
}

void Daemon::apply_config(config::Config cfg, bool initial) {
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
  metrics_.config_loaded(true, now());
  status_.last_config_error.clear();
  spdlog::info("configuration {}: {} watch entries, {} endpoints, HTTP on {}",
               config_.source.string(), config_.watch.size(), config_.endpoints.size(),
               config_.http.listen.to_string());
  update_alert_publisher(
      alerts_, io_, *clock_, config_, inventory_, metrics_.shared_registry(),
      [this] { metrics_.touched(); }, status_.ready);
  files_.apply(config_, initial);
  endpoints_.apply(config_);
  metrics_.set_endpoints(endpoints_.endpoint_count());
  renew_.apply(config_);
  ledger_.apply(config_);
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
    // 100 ms of the first, or during the reload's rescan, merge into it.
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
  notify_.stopping("stopping");
  boost::system::error_code ec;
  signals_.cancel(ec);
  watchdog_timer_.cancel();
  rejudge_timer_->cancel();
  hup_timer_.cancel();
  files_.stop();
  endpoints_.stop();
  renew_.stop();
  ledger_.stop();
  if (http_) http_->stop();
  if (alerts_) alerts_->stop();  // status offline, then a clean disconnect
  // dns-01 hooks and reload commands in flight: ended, so that io_.run() returns within
  // seconds rather than after their timeouts (their work guards hold it).
  stop_argv_runs();
  // ACME orders in flight: cancelled (nothing of theirs is deployed), later ones refused.
  acme::stop_acme_clients(io_);
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
  rejudge_timer_->wait_for(options_.rejudge_check, [this](bool fired) {
    if (!fired || stopping_) return;
    files_.rejudge_due(now());
    endpoints_.rejudge_due(now());
    arm_rejudge();
  });
}

void Daemon::renewal_finished(const RenewOutcome& o) {
  metrics_.renewal_finished(o.ok);
  if (!alerts_) return;
  alerts_->renewal_finished(to_renewal_event(o));
}

void Daemon::read_errors(std::size_t count) {
  metrics_.add_read_errors(count);
}

void Daemon::probes_finished(std::size_t successes, std::size_t failures) {
  metrics_.probes_finished(successes, failures);
}

void Daemon::renewal_scheduled(const std::string& name, int64_t next_at, int64_t last_success,
                               int failures, int served) {
  metrics_.set_renewal(name, next_at, last_success, failures, served);
}

void Daemon::renewal_removed(const std::string& name) {
  metrics_.remove_renewal(name);
}

void Daemon::scan_finished(double seconds) {
  status_.last_scan_at = now();
  status_.last_scan_seconds = seconds;
  metrics_.scan_finished(seconds, status_.last_scan_at);
  settled();
  if (!status_.ready) {
    status_.ready = true;
    if (alerts_) alerts_->sources_reported();
    spdlog::info("initial scan: {} files, {} certificates in {:.3f} s",
                 inventory_.size(SourceKind::file), inventory_.certificate_count(), seconds);
    notify_.ready(status_line());
  } else if (reloading_) {
    reloading_ = false;
    spdlog::info("reload done: {} files, {} certificates in {:.3f} s",
                 inventory_.size(SourceKind::file), inventory_.certificate_count(), seconds);
    notify_.ready(status_line());
  } else {
    spdlog::debug("rescan: {} files in {:.3f} s", inventory_.size(SourceKind::file), seconds);
    notify_.status(status_line());
  }
}

void Daemon::settled() {
  status_.files = inventory_.size(SourceKind::file);
  metrics_.set_files_watched(inventory_.size(SourceKind::file));
  metrics_.set_certificates(inventory_.certificate_count());
  metrics_.set_directories_watched(files_.directories_watched());
}

std::string Daemon::status_line() const {
  std::size_t findings = 0;
  for (const auto& [t, e] : inventory_.entries()) findings += e.report.findings.size();
  const std::size_t addresses = inventory_.size(SourceKind::endpoint);
  return "watching " + std::to_string(inventory_.size(SourceKind::file)) + " files" +
         (addresses != 0 ? ", " + std::to_string(addresses) + " endpoint addresses"
                         : std::string()) +
         ", " + std::to_string(inventory_.certificate_count()) + " certificates, " +
         std::to_string(findings) + " findings";
}

certwatch::Result<void> Daemon::start_http(const config::HttpConfig& http) {
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
  auto routes = agent_routes(AgentView{inventory_, metrics_, status_, *clock_, renew_});
  const std::string served = route_list(routes);
  for (auto& [path, handler] : routes) server->route(path, std::move(handler));
  if (auto r = server->start(); !r)
    return certwatch::make_error("cannot listen on " + http.listen.to_string() + ": " +
                                 r.error().message);
  spdlog::info("serving {} on {}:{}", served, o.address, server->port());
  // A new listener replaces the old one only once it is up (reload keeps serving otherwise).
  if (http_) http_->stop();
  http_ = std::move(server);
  return {};
}

}  // namespace certwatch::agent
