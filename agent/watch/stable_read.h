// Reading a file that may be rewritten while we read it (Envoy's secret reload habit): read,
// hash, read again, until two consecutive reads agree. A writer that replaces the file by
// rename can never give us a mix of two versions this way; an in-place writer is caught by the
// next inotify event. Thread-safe: no shared state (the scan pool calls it from many threads).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "agent/inventory/file_stamp.h"
#include "base/result.h"

namespace certwatch::agent {

// SHA-256 of the bytes.
ContentHash content_hash(std::string_view bytes);

// stat(2) following symlinks; errors carry strerror (ELOOP for a symlink loop).
certwatch::Result<FileStamp> stat_file(const std::filesystem::path& path);

struct RawRead {
  std::string bytes;
  FileStamp stamp;
};

struct StableReadOptions {
  int max_attempts = 5;                      // reads in total, at least 2
  std::size_t max_bytes = 10 * 1024 * 1024;  // same budget as judge_paths
  std::chrono::milliseconds backoff{5};      // slept after a disagreement, times the attempt
  // Two agreeing reads count only when the file was last modified at least this long ago: a
  // writer that truncates and rewrites in place is otherwise caught twice in the empty window
  // (issue 15). A modification time in the future (clock skew) does not count as fresh.
  std::chrono::milliseconds settle{20};
  // One read of the file; replaceable so tests can script a file that changes mid-read.
  std::function<certwatch::Result<RawRead>(const std::filesystem::path&, std::size_t max_bytes)>
      reader;
};

struct StableContent {
  std::string bytes;
  ContentHash hash{};
  FileStamp stamp;  // of the last read
  int attempts = 0;
};

// One plain read: open (following symlinks, non-blocking so a FIFO cannot hang us), refuse
// anything but a regular file and anything over max_bytes, read it all.
certwatch::Result<RawRead> read_file_once(const std::filesystem::path& path, std::size_t max_bytes);

certwatch::Result<StableContent> stable_read(const std::filesystem::path& path,
                                             const StableReadOptions& options = {});

// True when the file's modification time lies within `window` of now (not in the future).
bool modified_within(const FileStamp& stamp, std::chrono::milliseconds window);

// True for stable_read's "content kept changing" error: the caller keeps its last stable
// judgement of the file rather than reporting it unreadable.
bool is_unstable_read(const certwatch::Error& error);

}  // namespace certwatch::agent
