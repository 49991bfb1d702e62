// Trust anchors as a shared value: one TrustSet per distinct trust list (the ordered list of
// bundle files and directories a config entry or a CLI names), read once and handed to every
// judge context that names the same list, so that N watch entries and endpoints on one bundle
// parse it and index it once. A TrustStore re-reads a list when one of its files changed
// (size, mtime or inode of any file the list expands to, or a file appearing or going in a
// listed directory); until then every caller gets the same shared_ptr.
//
// A file that cannot be read is skipped and named in TrustSet::errors, the anchors of the
// readable ones are used: the same as load_trust_files (pki/load/load.h), which every trust
// reader of the agent used before this store. A later read of the same list is a new set,
// never a merge with an earlier one.
//
// Thread-safety: a TrustSet is immutable and may be shared between threads; a TrustStore
// locks internally.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pki/judge/judge_options.h"
#include "pki/x509/certificate.h"

namespace certwatch::pki {

struct TrustSet {
  std::vector<std::filesystem::path> paths;  // the list as named (empty: anchors given in memory)
  std::vector<Certificate> certs;            // in list order, duplicates kept as read
  std::shared_ptr<const TrustIndex> index;   // make_trust_index(certs), built once
  std::vector<std::string> errors;           // "path: why" per file skipped
  std::string stamp;                         // what the files looked like when read

  // Anchors that come from no file (an issuer's root handed over with an issued set).
  static std::shared_ptr<const TrustSet> of(std::vector<Certificate> certs);
};

// The stamp of a trust list as it is on disk now: each file the list expands to (walk_paths'
// rules) with its size, mtime and inode, and each path that cannot be stat'ed.
std::string trust_stamp(const std::vector<std::filesystem::path>& paths);

class TrustStore {
 public:
  // The anchors of `paths`: the set read before when no file of it changed since, else a
  // fresh read (which then replaces the old one for later callers).
  std::shared_ptr<const TrustSet> get(const std::vector<std::filesystem::path>& paths);

 private:
  std::mutex mutex_;
  std::map<std::vector<std::filesystem::path>, std::shared_ptr<const TrustSet>> sets_;
};

}  // namespace certwatch::pki
