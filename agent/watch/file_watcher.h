// Watches directories with inotify, integrated with the io_context through a
// posix::stream_descriptor, and reports batches of changed paths after a debounce.
//
// What it sees: create, modify, delete, rename and atomic replace (temp + rename) in every
// watched directory (and its subdirectories when recursive); Kubernetes-style `..data` symlink
// swaps (any change to a ".."-prefixed entry reports its directory); a root that does not exist
// yet (the nearest existing ancestor is watched until it appears); a root deleted and recreated
// (re-armed the same way); a root that is a file (its parent is watched). IN_Q_OVERFLOW and the
// periodic `rescan_interval` timer (on the agent's Clock) ask for a full rescan. The consumer
// decides which reported paths are targets: a reported path may be a file, a directory (rescan it)
// or gone (forget everything under it).
//
// Ownership: created with std::make_shared; handlers hold a shared_ptr, so the watcher lives
// until its last handler ran. Thread-safety: every member runs on the io_context's one thread.
#pragma once

#include <utility>  // before asio: Boost 1.74 + GCC 12 + C++20

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/clock/clock.h"
#include "base/result.h"

namespace certwatch::agent {

struct WatchRoot {
  std::filesystem::path path;  // a directory or a file; may not exist yet
  bool recursive = false;
};

struct WatchChanges {
  std::set<std::filesystem::path> paths;  // files or directories that changed or vanished
  bool full_rescan = false;               // overflow or periodic timer: look at everything
};

struct FileWatcherOptions {
  std::chrono::milliseconds debounce{100};    // quiet time before a batch is reported
  std::chrono::milliseconds max_delay{1000};  // a busy directory is still reported this often
  std::chrono::milliseconds rescan_interval{std::chrono::minutes(10)};  // 0: never
};

class FileWatcher : public std::enable_shared_from_this<FileWatcher> {
 public:
  using Callback = std::function<void(WatchChanges)>;

  // The rescan interval runs on `clock` (which must outlive the watcher); the debounce is
  // real time, the kernel's quiet period.
  FileWatcher(boost::asio::io_context& io, Clock& clock, FileWatcherOptions options,
              Callback callback);
  ~FileWatcher();
  FileWatcher(const FileWatcher&) = delete;
  FileWatcher& operator=(const FileWatcher&) = delete;

  // Opens inotify and starts reading. Call once, after construction through make_shared.
  certwatch::Result<void> start();
  // Replaces the watched roots (config reload): drops every watch and arms the new roots.
  void set_roots(std::vector<WatchRoot> roots);
  void set_rescan_interval(std::chrono::milliseconds interval);
  // Closes the descriptor and cancels the timers; pending handlers complete as aborted.
  void stop();

  std::size_t watch_count() const { return wd_to_path_.size(); }
  // Watch errors (e.g. ENOSPC: fs.inotify.max_user_watches reached) since start.
  std::size_t watch_errors() const { return watch_errors_; }

 private:
  enum class RootState { watched_dir, watched_parent };
  struct Root {
    WatchRoot spec;
    RootState state = RootState::watched_parent;
  };

  void read_events();
  void handle_event(int wd, uint32_t mask, const std::string& name);
  void note_change(const std::filesystem::path& p);
  void flush();
  void arm_rescan_timer();
  void rearm_roots();
  bool arm_root(Root& root);
  bool add_watch(const std::filesystem::path& dir);
  void add_tree(const std::filesystem::path& dir, bool recursive);
  void remove_tree(const std::filesystem::path& dir);
  const Root* root_for_dir(const std::filesystem::path& dir) const;

  FileWatcherOptions options_;
  Callback callback_;
  boost::asio::posix::stream_descriptor stream_;
  boost::asio::steady_timer debounce_timer_;
  std::unique_ptr<ClockTimer> rescan_timer_;
  std::vector<char> buffer_;
  std::vector<Root> roots_;
  std::unordered_map<int, std::filesystem::path> wd_to_path_;
  std::map<std::filesystem::path, int> path_to_wd_;
  WatchChanges pending_;
  bool batch_open_ = false;
  std::chrono::steady_clock::time_point batch_start_;
  bool stopped_ = false;
  std::size_t watch_errors_ = 0;
};

}  // namespace certwatch::agent
