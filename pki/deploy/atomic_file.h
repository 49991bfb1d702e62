// Crash-safe file replacement, shared by the issuer and the agent's renewer: the bytes go to a
// temporary file in the target's directory (created with the final mode, never wider), are
// fsynced, renamed over the target, and the directory is fsynced. A reader sees the old file
// or the new one, never a mix; a crash leaves at most a stray ".<name>.tmp.XXXXXX" file.
// Thread-safety: reentrant; concurrent writers to the same path end with one of the contents.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace certwatch::pki {

struct AtomicWriteOptions {
  bool replace = true;  // false: fail with "exists" instead of replacing an existing file
};

// Writes `bytes` to `path` with permission bits `mode` (umask is not applied).
Result<void> write_file_atomic(const std::filesystem::path& path, std::string_view bytes,
                               mode_t mode, AtomicWriteOptions options = {});

// Several files as one step (e.g. key, certificate, chain): every temp file is written and
// fsynced first, then they are renamed in the given order, then each directory is fsynced once.
// A failure before the renames leaves nothing; with replace=false an existing target stops the
// set, and the files of this set created before it are removed again.
struct FileWrite {
  std::filesystem::path path;
  std::string_view bytes;
  mode_t mode = 0600;
  // Owner and group given to the temp file before the rename (-1: the writer's own).
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
};
// `after_rename(i)` runs after the i-th rename, before the next one (the renewer's fault points).
Result<void> write_files_atomic(const std::vector<FileWrite>& files,
                                AtomicWriteOptions options = {},
                                const std::function<void(size_t)>& after_rename = {});

// Creates `dir` and its missing parents with `mode` (umask not applied to the last level).
// An existing directory is left as it is.
Result<void> make_directories(const std::filesystem::path& dir, mode_t mode);

// fsyncs a directory so that renames and creations inside it survive a crash.
Result<void> fsync_directory(const std::filesystem::path& dir);

}  // namespace certwatch::pki
