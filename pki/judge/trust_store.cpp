#include "pki/judge/trust_store.h"

#include <sys/stat.h>

#include "pki/load/load.h"

namespace certwatch::pki {
namespace fs = std::filesystem;

std::shared_ptr<const TrustSet> TrustSet::of(std::vector<Certificate> certs) {
  auto set = std::make_shared<TrustSet>();
  set->certs = std::move(certs);
  set->index = make_trust_index(set->certs);
  return set;
}

std::string trust_stamp(const std::vector<fs::path>& paths) {
  std::string out;
  for (const auto& w : walk_paths(paths)) {
    out += w.path.string();
    struct stat st {};
    if (::stat(w.path.c_str(), &st) != 0) {
      out += " -\n";
      continue;
    }
    out += ' ' + std::to_string(st.st_size) + ' ' + std::to_string(st.st_mtim.tv_sec) + '.' +
           std::to_string(st.st_mtim.tv_nsec) + ' ' + std::to_string(st.st_ino) + '\n';
  }
  return out;
}

std::shared_ptr<const TrustSet> TrustStore::get(const std::vector<fs::path>& paths) {
  // Stamped before reading: a file changing during the read leaves a stale stamp, and the
  // next get() reads it again rather than keeping a half-written bundle for good.
  std::string stamp = trust_stamp(paths);
  std::lock_guard lock(mutex_);
  auto& slot = sets_[paths];
  if (slot && slot->stamp == stamp) return slot;
  auto set = std::make_shared<TrustSet>();
  set->paths = paths;
  auto files = load_trust_files(paths);
  set->certs = std::move(files.certs);
  set->errors = std::move(files.errors);
  set->index = make_trust_index(set->certs);
  set->stamp = std::move(stamp);
  slot = std::move(set);
  return slot;
}

}  // namespace certwatch::pki
