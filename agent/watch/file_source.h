// The file source: everything between the `watch:` entries of the config and the inventory.
// It owns the inotify watcher, the scan pool, the watch contexts (trust read, options built),
// the key-pairing index and the scan bookkeeping; it turns file events and rescans into scan
// jobs and their results into inventory observations (SourceKind::file targets). What the
// inventory does with them (metrics, logs, alerts) is not its business: the inventory tells
// its subscribers.
//
// Full scans: one at a time; a request during a scan queues one more. A rescan reads only
// what changed since it was judged (stat stamp, then content hash); `force` judges everything
// again (trust, thresholds or severities changed). Trust bundles named by the config are
// watched like certificates: a change re-reads them and judges every target.
//
// Thread-safety: every member runs on the io_context's thread; pool jobs only read files and
// judge them, and post their results back.
#pragma once

#include <utility>  // before asio: Boost 1.74 + GCC 12 + C++20

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/clock/clock.h"
#include "agent/inventory/inventory.h"
#include "agent/inventory/source_sink.h"
#include "agent/watch/file_watcher.h"
#include "agent/watch/scan_pool.h"
#include "agent/watch/scanner.h"
#include "base/result.h"
#include "config/config.h"
#include "pki/judge/judge.h"
#include "pki/judge/trust_store.h"

namespace certwatch::agent {

class FileSource {
 public:
  FileSource(boost::asio::io_context& io, Clock& clock, Inventory& inventory, unsigned scan_threads,
             SourceSink& sink);
  ~FileSource();
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  // Opens inotify. `agent` gives the debounce and the rescan interval.
  certwatch::Result<void> start(const config::AgentConfig& agent);
  // Takes a (new) config: watch contexts rebuilt, roots re-armed if they changed, and a full
  // scan (every target judged again unless `initial`).
  void apply(const config::Config& cfg, bool initial);
  // Judges again the targets whose time-dependent findings may have changed by `now`.
  void rejudge_due(int64_t now);
  // Cancels queued jobs and stops the watcher; results still in flight are dropped.
  void stop();
  // Waits for the pool's threads (after the io_context stopped running).
  void join();

  bool scanning() const { return scan_in_progress_; }
  // The first full scan of this run has finished: until then a changed key file's partners
  // are judged by the scan itself, not again one by one.
  bool first_scan_done() const { return first_scan_done_; }
  std::size_t directories_watched() const { return watcher_ ? watcher_->watch_count() : 0; }

 private:
  void on_changes(WatchChanges changes);
  // Re-reads the trust and judges every target again when the trust files changed since they
  // were read (or when `changed` says so). True if it did.
  bool reload_trust_if_changed(bool changed);
  void start_full_scan(bool force);
  void finish_scan();
  // How a batch of targets is scanned. Named at each call site: the callers differ only here,
  // and two bare booleans read alike.
  struct ScanRequest {
    bool rejudge = false;    // read and judge even when stamp and hash say nothing changed
    bool full_scan = false;  // part of a full scan: its jobs count towards finish_scan()
  };
  // Submits one scan job per target to the pool (the inventory changes when they come back).
  void submit_scans(const TargetMap& targets, ScanRequest request);
  void on_result(ScanResult result, uint64_t seq, bool full_scan);
  void remove_target(const std::string& path);
  void remove_missing(const std::filesystem::path& scope, const TargetMap& present);
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

  boost::asio::io_context& io_;
  Clock& clock_;
  Inventory& inventory_;
  unsigned scan_threads_;
  SourceSink& sink_;
  std::optional<config::Config> config_;  // the last one applied
  std::vector<std::shared_ptr<const WatchContext>> contexts_;
  // Trust bundle files of the config (global and per entry): watched, and a change to one
  // re-reads the trust and judges every target again.
  std::vector<std::filesystem::path> trust_files_;
  // What the trust files looked like when last read (inode, size, mtime per file): the
  // periodic rescan rereads the trust when it differs (events can be missed).
  std::string trust_stamp_;
  // One read per distinct trust list across the watch entries, kept between applies.
  pki::TrustStore trust_store_;
  pki::VerifyCache cache_;
  std::unique_ptr<ScanPool> pool_;
  std::shared_ptr<FileWatcher> watcher_;
  std::atomic<bool> cancelled_{false};  // read by pool jobs
  bool stopping_ = false;

  bool first_scan_done_ = false;
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

// The file targets in the inventory at or under `scope` (a vanished directory, a rescanned one).
std::vector<std::string> file_targets_under(const Inventory& inventory,
                                            const std::filesystem::path& scope);

}  // namespace certwatch::agent
