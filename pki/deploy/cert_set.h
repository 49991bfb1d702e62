// A deployed certificate set (private key, certificate, optional chain) replaced as one unit,
// for the renewer (issue #11). Every file is written through pki/deploy/atomic_file.h (temp, fsync,
// rename, fsync dir), key first, then certificate, then chain: a server that reloads midway
// sees the new key with the old certificate at worst, which it rejects while keeping its old
// context (REFERENCE.md: new cert + old key is the combination that breaks Mosquitto).
//
// Whole old or whole new after a crash: before the first live file is touched, the new set is
// staged and fsynced under the store's directory and an intent record is written; recover()
// at the next start rolls an interrupted deploy forward from the staged copy. The replaced
// set is archived first, so a failed verification can put it back (restore_previous()), and
// the newest `keep_previous` archives are kept.
//
// Store layout (dir is e.g. <state_dir>/renew/<name>):
//   dir/next/{key,cert,chain}.pem   the set being deployed (0600)
//   dir/intent                      present while live files may be a mix
//   dir/previous/<seq>/...          replaced sets, highest seq newest
//
// Thread-safety: one CertSetStore per set, used from one thread at a time.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace certwatch::pki {

struct CertSetFiles {
  std::filesystem::path key;
  std::filesystem::path cert;
  std::optional<std::filesystem::path> chain;
};

struct CertSetBytes {
  std::string key;    // PEM; never logged
  std::string cert;   // PEM, the leaf
  std::string chain;  // PEM, leaf then intermediates; ignored when the set has no chain file
};

// Owner, group and modes for the written files. -1 / nullopt: keep what the live file has
// (the agent's own and key 0600 / certificate 0644 for a file that does not exist yet).
struct CertSetOwnership {
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
  std::optional<mode_t> key_mode;
  std::optional<mode_t> cert_mode;
};

class CertSetStore {
 public:
  CertSetStore(std::filesystem::path dir, CertSetFiles files, int keep_previous = 3);

  const std::filesystem::path& dir() const { return dir_; }
  const CertSetFiles& files() const { return files_; }

  // The live set; nullopt when the key or the certificate (or the configured chain) is missing.
  Result<std::optional<CertSetBytes>> read_live() const;
  // Finishes a deploy a crash interrupted (rolls forward to the staged set). True if it did.
  Result<bool> recover(const CertSetOwnership& own);
  // Archives the live set (if any), stages `fresh`, and writes it over the live files.
  Result<void> deploy(const CertSetBytes& fresh, const CertSetOwnership& own);
  // Writes the newest archived set back over the live files (same procedure) and drops it
  // from the archive. An error if there is none.
  Result<void> restore_previous(const CertSetOwnership& own);
  // Archived sets, newest first.
  std::vector<std::filesystem::path> previous_sets() const;

 private:
  Result<void> stage(const CertSetBytes& set);
  Result<void> write_live(const CertSetBytes& set, const CertSetOwnership& own);
  Result<void> archive(const CertSetBytes& set);

  std::filesystem::path dir_;
  CertSetFiles files_;
  int keep_previous_;
};

}  // namespace certwatch::pki
