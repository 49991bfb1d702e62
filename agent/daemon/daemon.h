// The agent daemon (`certwatch agent -c FILE`), in Mosquitto's shape: config -> listeners ->
// first scan -> READY=1 -> loop -> teardown in reverse. It is the composition root: it wires
// the sources (files, endpoints, the ledger, managed certificates) into the inventory, the
// inventory's change feed into its consumers (metrics, the change log, the MQTT alerts), the
// sources' own reports (SourceSink: scans, probes, renewals) into metrics, readiness and MQTT
// events, and the inventory into the outputs (the HTTP route table); it owns lifecycle,
// signals, reload and sd_notify. It judges nothing and reads no file but the config.
//
// One io_context thread owns all state. Signals only set work for the loop: SIGHUP reloads
// the config and rescans (RELOADING=1 ... READY=1; an invalid config is logged with its
// file:line:col and the old one stays), SIGTERM/SIGINT stop (STOPPING=1, close the acceptor,
// cancel timers, let run() return; no io_context::stop()). Time comes from one Clock (the
// system's, or a test's ManualClock).
#pragma once

#include <utility>  // before asio: Boost 1.74 + GCC 12 + C++20

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "agent/alerts/alert_publisher.h"
#include "agent/clock/clock.h"
#include "agent/daemon/sd_notify.h"
#include "agent/http/status_page.h"
#include "agent/inventory/inventory.h"
#include "agent/inventory/source_sink.h"
#include "agent/metrics/agent_metrics.h"
#include "agent/probe/endpoint_source.h"
#include "agent/renew/ledger_source.h"
#include "agent/renew/scheduler.h"
#include "agent/server/http_server.h"
#include "agent/watch/file_source.h"
#include "config/config.h"

namespace certwatch::agent {

struct DaemonOptions {
  std::filesystem::path config_path;
  unsigned scan_threads = 0;  // 0: hardware concurrency, at most 4
  // The clock every certificate-time timer reads; null: the system clock. Must outlive the
  // daemon and belong to the same io_context.
  Clock* clock = nullptr;
  std::chrono::seconds rejudge_check{60};  // how often time-dependent findings are looked at
};

class Daemon : private SourceSink {
 public:
  Daemon(boost::asio::io_context& io, DaemonOptions options);
  ~Daemon() override;
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Loads the config, starts listening, scans, and runs the loop until SIGTERM/SIGINT.
  // Returns the process exit code: 0 after a clean stop, 3 on an invalid config, 1 when the
  // listener cannot be opened.
  int run();
  // Stops as SIGTERM does (for tests that run the daemon in-process). Call on the io thread.
  void shutdown();

  // The port actually bound (http.listen may say 0).
  std::uint16_t http_port() const { return http_ ? http_->port() : 0; }
  const Inventory& inventory() const { return inventory_; }
  AgentMetrics& metrics() { return metrics_; }
  const AgentStatus& status() const { return status_; }
  const RenewScheduler& renewals() const { return renew_; }

 private:
  int64_t now() const { return clock_->now(); }
  void apply_config(config::Config cfg, bool initial);
  // Starts a listener for `http`; on success it replaces the current one. The error says why not.
  certwatch::Result<void> start_http(const config::HttpConfig& http);
  void wait_signals();
  void on_signal(int sig);
  void reload();
  void arm_hup_timer();
  void arm_watchdog();
  void arm_rejudge();
  // SourceSink: what the sources report beyond their entries.
  void scan_finished(double seconds) override;  // READY=1 after the first one
  void read_errors(std::size_t count) override;
  void probes_finished(std::size_t successes, std::size_t failures) override;
  void settled() override;  // the self metrics (files, certificates, directories)
  void renewal_scheduled(const std::string& name, int64_t next_at, int64_t last_success,
                         int failures, int served) override;
  void renewal_removed(const std::string& name) override;
  // Metrics, and an MQTT event when mqtt: is set.
  void renewal_finished(const RenewOutcome& o) override;
  std::string status_line() const;

  boost::asio::io_context& io_;
  DaemonOptions options_;
  std::unique_ptr<Clock> own_clock_;  // when options_.clock is null
  Clock* clock_;
  config::Config config_;
  Inventory inventory_;
  AgentMetrics metrics_;
  AgentStatus status_;
  SdNotify notify_;
  FileSource files_;
  EndpointSource endpoints_;
  RenewScheduler renew_;
  LedgerSource ledger_;
  std::unique_ptr<HttpServer> http_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer watchdog_timer_;  // systemd's real-time watchdog, not the Clock
  std::unique_ptr<ClockTimer> rejudge_timer_;
  boost::asio::steady_timer hup_timer_;  // merges a SIGHUP storm into one reload (real time)
  bool stopping_ = false;
  bool reloading_ = false;
  int hups_pending_ = 0;  // SIGHUPs not yet served by a reload (merged into the next one)
  std::unique_ptr<AlertPublisher> alerts_;  // with an `mqtt:` section; destroyed first
};

}  // namespace certwatch::agent
