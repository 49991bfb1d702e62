#include "agent/watch/file_watcher.h"

#include <spdlog/spdlog.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "agent/watch/paths.h"
#include "pki/load/dir_walk.h"

namespace certwatch::agent {
namespace fs = std::filesystem;
namespace {

constexpr uint32_t kMask = IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE |
                           IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

bool is_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

}  // namespace

FileWatcher::FileWatcher(boost::asio::io_context& io, Clock& clock, FileWatcherOptions options,
                         Callback callback)
    : options_(options),
      callback_(std::move(callback)),
      stream_(io),
      debounce_timer_(io),
      rescan_timer_(clock.make_timer()),
      buffer_(64 * 1024) {}

FileWatcher::~FileWatcher() {
  boost::system::error_code ec;
  stream_.close(ec);
}

certwatch::Result<void> FileWatcher::start() {
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return certwatch::make_error(std::string("inotify_init1: ") + std::strerror(errno));
  stream_.assign(fd);
  read_events();
  arm_rescan_timer();
  return {};
}

void FileWatcher::set_roots(std::vector<WatchRoot> roots) {
  for (const auto& [wd, path] : wd_to_path_) ::inotify_rm_watch(stream_.native_handle(), wd);
  wd_to_path_.clear();
  path_to_wd_.clear();
  roots_.clear();
  for (auto& r : roots) roots_.push_back(Root{std::move(r), RootState::watched_parent});
  for (auto& r : roots_) arm_root(r);
}

void FileWatcher::set_rescan_interval(std::chrono::milliseconds interval) {
  options_.rescan_interval = interval;
  arm_rescan_timer();
}

void FileWatcher::stop() {
  stopped_ = true;
  debounce_timer_.cancel();
  rescan_timer_->cancel();
  boost::system::error_code ec;
  stream_.close(ec);
  wd_to_path_.clear();
  path_to_wd_.clear();
}

void FileWatcher::read_events() {
  if (stopped_) return;
  stream_.async_read_some(
      boost::asio::buffer(buffer_),
      [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
        if (self->stopped_) return;
        if (ec) {
          if (ec == boost::asio::error::operation_aborted) return;
          // The periodic rescan stays as the safety net if inotify breaks.
          spdlog::error("inotify read failed: {}; relying on the periodic rescan", ec.message());
          return;
        }
        bool structure_changed = false;
        std::size_t off = 0;
        while (off + sizeof(inotify_event) <= n) {
          inotify_event ev{};
          std::memcpy(&ev, self->buffer_.data() + off, sizeof ev);
          std::string name;
          if (ev.len > 0)
            name.assign(self->buffer_.data() + off + sizeof ev,
                        strnlen(self->buffer_.data() + off + sizeof ev, ev.len));
          off += sizeof ev + ev.len;
          if ((ev.mask & (IN_Q_OVERFLOW | IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) != 0 ||
              ((ev.mask & IN_ISDIR) != 0 && (ev.mask & (IN_CREATE | IN_MOVED_TO)) != 0))
            structure_changed = true;
          self->handle_event(ev.wd, ev.mask, name);
        }
        if (structure_changed) self->rearm_roots();
        self->read_events();
      });
}

void FileWatcher::handle_event(int wd, uint32_t mask, const std::string& name) {
  if ((mask & IN_Q_OVERFLOW) != 0) {
    spdlog::warn("inotify queue overflow: full rescan");
    pending_.full_rescan = true;
    note_change({});
    return;
  }
  auto it = wd_to_path_.find(wd);
  if (it == wd_to_path_.end()) return;  // a watch we already dropped
  const fs::path dir = it->second;
  if ((mask & IN_IGNORED) != 0) {
    auto pit = path_to_wd_.find(dir);
    if (pit != path_to_wd_.end() && pit->second == wd) path_to_wd_.erase(pit);
    wd_to_path_.erase(it);
    note_change(dir);
    return;
  }
  if ((mask & (IN_DELETE_SELF | IN_MOVE_SELF)) != 0) {
    note_change(dir);
    // A moved directory keeps its watch under a stale name: drop it (IN_IGNORED follows).
    if ((mask & IN_MOVE_SELF) != 0) remove_tree(dir);
    return;
  }
  if (name.empty()) return;
  const fs::path p = dir / name;
  // Kubernetes swaps `..data`; the visible names are symlinks through it that never change
  // themselves, so a change to any ".." entry means "look at the whole directory again".
  note_change(pki::internal_name(name) ? dir : p);
  if ((mask & IN_ISDIR) != 0 && !pki::internal_name(name)) {
    if ((mask & IN_MOVED_FROM) != 0) remove_tree(p);
    if ((mask & (IN_CREATE | IN_MOVED_TO)) != 0) {
      const Root* root = root_for_dir(dir);
      if (root != nullptr && root->spec.recursive) add_tree(p, true);
    }
  }
}

void FileWatcher::note_change(const fs::path& p) {
  if (!p.empty()) pending_.paths.insert(p);
  const auto now = std::chrono::steady_clock::now();
  if (!batch_open_) {
    batch_open_ = true;
    batch_start_ = now;
  }
  const auto deadline = std::min(now + options_.debounce, batch_start_ + options_.max_delay);
  debounce_timer_.expires_at(deadline);
  debounce_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->stopped_) return;
    self->flush();
  });
}

void FileWatcher::flush() {
  batch_open_ = false;
  if (pending_.paths.empty() && !pending_.full_rescan) return;
  WatchChanges batch = std::move(pending_);
  pending_ = WatchChanges{};
  callback_(std::move(batch));
}

void FileWatcher::arm_rescan_timer() {
  rescan_timer_->cancel();
  if (stopped_ || options_.rescan_interval.count() <= 0) return;
  rescan_timer_->wait_for(options_.rescan_interval, [self = shared_from_this()](bool fired) {
    if (!fired || self->stopped_) return;
    self->rearm_roots();  // a root that appeared while a watch was impossible
    self->pending_.full_rescan = true;
    self->note_change({});
    self->arm_rescan_timer();
  });
}

void FileWatcher::rearm_roots() {
  for (auto& root : roots_) {
    if (root.state == RootState::watched_dir && path_to_wd_.count(root.spec.path) != 0) continue;
    const bool was_dir = root.state == RootState::watched_dir;
    const bool armed = arm_root(root);
    if (armed) {
      if (!was_dir) spdlog::info("watched path {} appeared", root.spec.path.string());
      note_change(root.spec.path);
    } else if (was_dir) {
      spdlog::warn("watched directory {} disappeared; waiting for it to come back",
                   root.spec.path.string());
    }
  }
}

bool FileWatcher::arm_root(Root& root) {
  const fs::path& p = root.spec.path;
  // Bounded: each round either arms the root or watches one level deeper.
  for (int round = 0; round < 64; ++round) {
    if (is_dir(p)) {
      add_tree(p, root.spec.recursive);
      root.state = RootState::watched_dir;
      return true;
    }
    root.state = RootState::watched_parent;
    std::error_code ec;
    const bool exists_as_file = fs::exists(p, ec);
    fs::path ancestor = p.parent_path();
    while (!ancestor.empty() && !is_dir(ancestor) && ancestor != ancestor.root_path())
      ancestor = ancestor.parent_path();
    if (ancestor.empty()) ancestor = ".";
    add_watch(ancestor);
    if (exists_as_file) return false;  // a file root: its parent's events cover it
    // Something on the way down may have appeared before the watch was in place.
    auto rel = p.lexically_relative(ancestor);
    if (rel.empty() || !fs::exists(ancestor / *rel.begin(), ec)) return false;
  }
  return false;
}

bool FileWatcher::add_watch(const fs::path& dir) {
  if (stopped_) return false;
  int wd = ::inotify_add_watch(stream_.native_handle(), dir.c_str(), kMask);
  if (wd < 0) {
    ++watch_errors_;
    spdlog::warn("cannot watch {}: {}{}", dir.string(), std::strerror(errno),
                 errno == ENOSPC ? " (raise fs.inotify.max_user_watches)" : "");
    return false;
  }
  auto it = wd_to_path_.find(wd);
  if (it != wd_to_path_.end() && it->second != dir) path_to_wd_.erase(it->second);
  wd_to_path_[wd] = dir;
  path_to_wd_[dir] = wd;
  return true;
}

void FileWatcher::add_tree(const fs::path& dir, bool recursive) {
  if (!add_watch(dir) || !recursive) return;
  // The directories the rescan walks (pki/load/dir_walk.h): links to directories and
  // Kubernetes' ".." internals are never entered, by events and rescans alike.
  const auto dirs = pki::walked_dirs(dir, true);
  for (std::size_t i = 1; i < dirs.size(); ++i) add_watch(dirs[i]);
}

void FileWatcher::remove_tree(const fs::path& dir) {
  for (auto it = path_to_wd_.lower_bound(dir);
       it != path_to_wd_.end() && is_within(it->first, dir);) {
    ::inotify_rm_watch(stream_.native_handle(), it->second);
    wd_to_path_.erase(it->second);
    it = path_to_wd_.erase(it);
  }
}

const FileWatcher::Root* FileWatcher::root_for_dir(const fs::path& dir) const {
  for (const auto& r : roots_) {
    if (r.state != RootState::watched_dir) continue;
    if (dir == r.spec.path || (r.spec.recursive && is_within(dir, r.spec.path))) return &r;
  }
  return nullptr;
}

}  // namespace certwatch::agent
