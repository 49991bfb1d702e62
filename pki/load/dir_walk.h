// The one rule for which files of a directory are judged: `certwatch check DIR`, trust
// directories and the agent's watched directories (its rescan and its inotify watches) all
// walk with it, so that the same tree selects the same files everywhere (README, "check").
//
// The rule:
// - names: only certificate-like names (certificate_like_name) are read inside a directory;
//   a file named explicitly (walk_paths' roots, a watch entry that is a file) always is;
// - excludes: fnmatch(3) globs on the file name drop files (never directories);
// - internal names: names starting with ".." are skipped, files and directories alike: they
//   are Kubernetes' atomic-writer internals ("..data", "..2024_01_01..."), and the visible
//   links through them are read instead, so every file is judged once;
// - hidden files: other names starting with '.' follow the name rule like any other;
// - symlinks: links to files are followed; links to directories are never followed (a link
//   to / adds nothing and a loop cannot form); a dangling link with a certificate-like name
//   is reported input.unreadable rather than dropped;
// - recursion: subdirectories are walked when `recursive` (check and trust always); a
//   directory reached twice (two roots that overlap, a bind mount) is walked once;
// - a directory that cannot be listed is reported input.unreadable with why;
// - FIFOs, devices and sockets with a certificate-like name are selected: the reader refuses
//   them (pki/load/read_file.h), so they show as findings instead of vanishing.
// Children are visited in sorted order. Thread-safety: reentrant.
#pragma once

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace certwatch::pki {

// One file found by a walk. `explicit_arg`: named as a root (as opposed to found inside a
// directory). `error` is set when the entry cannot be used (a dangling symlink, a directory
// that cannot be listed: then `path` is that directory); its kind is io (input.unreadable).
struct WalkEntry {
  std::filesystem::path path;
  bool explicit_arg = false;
  std::optional<Error> error;
};

struct WalkRules {
  bool recursive = true;
  std::vector<std::string> exclude;  // fnmatch(3) globs on the file name
};

// By extension, case-insensitive: .pem .crt .cer .cert .der .key .p7b .p7c .chain .bundle .p8.
bool certificate_like_name(const std::filesystem::path& p);

// ".."-prefixed: Kubernetes' atomic-writer internals, never walked.
bool internal_name(std::string_view file_name);

// Whether a file found inside a directory is read by the rule (name, internal, excludes).
bool selected_in_dir(const std::filesystem::path& file, std::span<const std::string> exclude);

// The files the rule selects under `dir` (not `dir` itself).
std::vector<WalkEntry> walk_dir(const std::filesystem::path& dir, const WalkRules& rules);

// The directories a walk of `dir` with `recursive` enters, `dir` first: what the agent puts
// inotify watches on.
std::vector<std::filesystem::path> walked_dirs(const std::filesystem::path& dir, bool recursive);

// `certwatch check PATH...`: directories are walked recursively without excludes; files are
// kept as given (explicit_arg).
std::vector<WalkEntry> walk_paths(std::span<const std::filesystem::path> roots);

}  // namespace certwatch::pki
