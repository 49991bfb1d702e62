// The agent daemon (`certwatch agent -c FILE`), in Mosquitto's shape: config -> listeners ->
// first scan -> READY=1 -> loop -> teardown in reverse.
//
// One io_context thread owns all state (config, inventory, metrics registry, watcher, HTTP
// server). The scan pool only reads and judges files and posts results back. Signals only set
// work for the loop: SIGHUP reloads the config and rescans (RELOADING=1 ... READY=1; an invalid
// config is logged with its file:line:col and the old one stays), SIGTERM/SIGINT stop
// (STOPPING=1, close the acceptor, cancel timers, let run() return; no io_context::stop()).
#pragma once

#include <utility>  // before asio: Boost 1.74 + GCC 12 + C++20

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/agent_metrics.h"
#include "agent/file_watcher.h"
#include "agent/http_server.h"
#include "agent/inventory.h"
#include "agent/scan_pool.h"
#include "agent/scanner.h"
#include "agent/sd_notify.h"
#include "agent/status_page.h"
#include "config/config.h"
#include "pki/judge.h"

namespace certwatch::agent {


struct DaemonOptions {
  std::filesystem::path config_path;
  unsigned scan_threads = 0;              // 0: hardware concurrency, at most 4
  std::function<int64_t()> clock;         // POSIX seconds; default: the system clock
  std::chrono::seconds rejudge_check{60};  // how often time-dependent findings are looked at
};

class Daemon {
 public:
  Daemon(boost::asio::io_context& io, DaemonOptions options);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Loads the config, starts listening, scans, and runs the loop until SIGTERM/SIGINT.
  // Returns the process exit code: 0 after a clean stop, 3 on an invalid config, 1 when the
  // listener cannot be opened.
  int run();

  // The HTTP routes by path (also used directly by the benchmark); the server adds gzip.
  HttpResponse serve(const HttpRequest& req);
  // The port actually bound (http.listen may say 0).
  std::uint16_t http_port() const { return http_ ? http_->port() : 0; }
  const Inventory& inventory() const { return inventory_; }
  const AgentMetrics& metrics() const { return metrics_; }

 private:
  int64_t now() const { return options_.clock(); }
  bool apply_config(config::Config cfg, bool initial);
  // Starts a listener for `http`; on success it replaces the current one. The error says why not.
  pki::Result<void> start_http(const config::HttpConfig& http);
  void stop_http();
  void wait_signals();
  void on_signal(int sig);
  void reload();
  void arm_hup_timer();
  void shutdown();
  void arm_watchdog();
  void arm_rejudge();
  void on_changes(WatchChanges changes);
  void start_full_scan(bool force);
  void finish_scan();
  void observe(const TargetMap& targets, bool force, bool full_scan);
  void on_result(ScanResult result, uint64_t seq, bool full_scan);
  void remove_target(const std::string& target);
  // Key pairing by pki::pairing_stem: a certificate job gets its candidate keys from the
  // index (every target during a full scan; key files and new targets after it, see
  // compact_pairing_index); a changed key file finds its certificate files in the inventory.
  void index_target(const std::filesystem::path& path);
  void compact_pairing_index();
  void unindex_target(const std::filesystem::path& path);
  std::vector<std::filesystem::path> pairing_partners(const std::filesystem::path& path) const;
  // A key file changed, appeared or went away: judge the certificate files paired with it
  // again (their own bytes may not have changed).
  void rejudge_partners(const std::filesystem::path& key_file);
  void remove_missing(const std::filesystem::path& scope, const TargetMap& present);
  void update_self_metrics();
  std::string status_line() const;

  boost::asio::io_context& io_;
  DaemonOptions options_;
  config::Config config_;
  std::vector<std::shared_ptr<const WatchContext>> contexts_;
  // Trust bundle files of the config (global and per entry): watched, and a change to one
  // re-reads the trust and judges every target again.
  std::vector<std::filesystem::path> trust_files_;
  // What the trust files looked like when last read (inode, size, mtime per file): the
  // periodic rescan rereads the trust when it differs (events can be missed).
  std::string trust_stamp_;
  // Re-reads the trust and judges every target again when the trust files changed since
  // they were read (or when `changed` says so). True if it did.
  bool reload_trust_if_changed(bool changed);
  Inventory inventory_;
  AgentMetrics metrics_;
  AgentStatus status_;
  SdNotify notify_;
  pki::VerifyCache cache_;
  std::unique_ptr<ScanPool> pool_;
  std::shared_ptr<FileWatcher> watcher_;
  std::unique_ptr<HttpServer> http_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer watchdog_timer_;
  boost::asio::steady_timer rejudge_timer_;
  std::atomic<bool> cancelled_{false};  // read by pool jobs
  bool stopping_ = false;
  bool reloading_ = false;
  int hups_pending_ = 0;  // SIGHUPs not yet served by a reload (merged into the next one)
  boost::asio::steady_timer hup_timer_;

  // Scans: one full scan at a time; a request during a scan queues one more.
  bool scan_in_progress_ = false;
  bool scan_queued_ = false;
  bool scan_queued_force_ = false;
  std::size_t scan_pending_ = 0;
  std::chrono::steady_clock::time_point scan_started_;
  // Per target, the sequence number of the latest job: older results are dropped.
  std::unordered_map<std::string, uint64_t> job_seq_;
  std::unordered_map<std::string, std::vector<std::filesystem::path>> pairing_index_;
  uint64_t next_seq_ = 0;
};

}  // namespace certwatch::agent
