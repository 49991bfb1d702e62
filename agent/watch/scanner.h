// What the agent looks at and how one file becomes an inventory entry.
//
// Targets: every file named by a `watch` entry, and inside a watched directory every file
// with a certificate-like name (the names `certwatch check` keeps in directories), minus the
// entry's `exclude` globs; subdirectories only when `recursive`, without following directory
// symlinks (loops) and skipping Kubernetes' ".."-prefixed internals (`..data` and the
// timestamped directories behind it, reached through the visible symlinks). A file symlink
// whose target is missing or loops is still a target: it is reported unreadable.
//
// Key files are targets too: as in `certwatch check`, a key-only file reports its own findings
// (key.permissions, key.encrypted), and a certificate file is compared with the key
// judge_paths pairs with it (pki::paired_key_among over the targets: same pairing_stem,
// seed 001's private/ and certs/ included).
//
// Judging: the same pki::judge_walked_file() as `certwatch check`, with the entry's trust,
// host and purpose (an unset purpose checks none); stable_read() first gives the content
// hash, so a file whose bytes and paired key are unchanged is not re-judged.
// scan_file() runs on the scan pool; everything else on the io_context thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/inventory/inventory.h"
#include "agent/watch/stable_read.h"
#include "config/config.h"
#include "config/judge_context.h"
#include "pki/judge/judge.h"

namespace certwatch::agent {

// One watch entry with what judging its files needs, built once per config (re)load.
struct WatchContext {
  config::WatchEntry entry;
  config::JudgeContext judge;  // config::judge_context of the entry; the instant per job
};

// Builds one context per watch entry; entries naming the same trust list share one read of it
// from `trust` (re-read there when a file of the list changed).
std::vector<std::shared_ptr<const WatchContext>> make_watch_contexts(const config::Config& cfg,
                                                                     pki::TrustStore& trust);

using TargetMap = std::map<std::filesystem::path, std::shared_ptr<const WatchContext>>;

// Targets inside `scope` (a file, a directory, or anything that overlaps a watch path), each
// with the first watch entry (config order) that claims it.
TargetMap collect_targets(const std::filesystem::path& scope,
                          const std::vector<std::shared_ptr<const WatchContext>>& contexts);
// Every target of every entry.
TargetMap collect_all_targets(const std::vector<std::shared_ptr<const WatchContext>>& contexts);

// True if `scope` is a watch path, lies under one, or contains one (a root that appeared).
bool in_watch_scope(const std::filesystem::path& scope,
                    const std::vector<std::shared_ptr<const WatchContext>>& contexts);

struct ScanJob {
  std::filesystem::path path;
  std::shared_ptr<const WatchContext> context;
  int64_t now = 0;
  std::optional<ContentHash> known_hash;  // skip judging when the bytes are the same...
  // The inventory holds a good read of this file (even when this job judges it again anyway,
  // forced or due): a broken read of a file modified within the last second does not replace
  // it (a rewrite in place caught half-way).
  bool had_good_read = false;
  std::shared_ptr<const KeyIdentity> known_key;  // ...and the paired key is this one
  // Targets that may pair with this one (same pki::pairing_stem; may include itself).
  std::vector<std::filesystem::path> key_candidates;
  pki::VerifyCache* cache = nullptr;  // shared by every job; locks internally
  const std::atomic<bool>* cancelled = nullptr;
};

struct ScanResult {
  std::filesystem::path path;
  std::shared_ptr<const WatchContext> context;
  bool cancelled = false;
  bool unchanged =
      false;  // same bytes as known_hash: only the entry's FileState::stamp is meaningful
  bool read_error = false;
  bool unstable = false;  // the content kept changing: keep the last stable judgement
  InventoryEntry entry;
};

// Reads and judges one file (scan pool thread). Never throws.
ScanResult scan_file(const ScanJob& job);

// The current identity of a key judged with a certificate file (stat of its path).
std::shared_ptr<const KeyIdentity> key_identity(const pki::KeyRecord& key);

}  // namespace certwatch::agent
