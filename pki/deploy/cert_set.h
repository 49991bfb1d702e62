// A deployed certificate set (private key, certificate, optional chain) replaced as one unit,
// for the renewer (issue #11). Every file is written through pki/deploy/atomic_file.h (temp, fsync,
// rename, fsync dir), key first, then certificate, then chain: a server that reloads midway
// sees the new key with the old certificate at worst, which it rejects while keeping its old
// context (REFERENCE.md: new cert + old key is the combination that breaks Mosquitto).
//
// Whole old or whole new after a crash: before the first live file is touched, the new set is
// staged and fsynced under the store's directory and an intent record is written, naming the
// archive of the set it replaces; recover() at the next start rolls an interrupted deploy
// forward from the staged copy or, when that cannot be done (a directory that cannot be
// written, a staged file gone), writes that archived set back and abandons the intent: it
// never stops between a new key and an old certificate. A live write that fails midway puts
// back the files it already replaced before it returns. The replaced set is archived first,
// so a failed verification can put it back (restore_previous()), and the newest
// `keep_previous` archives are kept.
//
// Store layout (dir is e.g. <state_dir>/renew/<name>):
//   dir/next/{key,cert,chain}.pem   the set being deployed (0600)
//   dir/intent                      present while live files may be a mix:
//                                   "deploy next previous <seq>" (0: nothing was live)
//   dir/previous/<seq>/...          replaced sets, highest seq newest
//   dir/lock                        pki/deploy/deploy_lock.h
//
// Thread-safety: one CertSetStore per set, used from one thread at a time; processes and
// threads that share the directory take its DeployLock first.
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

// What recover() did.
struct Recovery {
  enum class Outcome {
    none,       // no interrupted deploy
    finished,   // the staged set is live, whole
    abandoned,  // it could not be: the set it replaced is live again (or stays, if untouched)
  };
  Outcome outcome = Outcome::none;
  std::string reason;  // abandoned: why the staged set could not be finished; never key bytes
};

class CertSetStore {
 public:
  CertSetStore(std::filesystem::path dir, CertSetFiles files, int keep_previous = 3);

  const std::filesystem::path& dir() const { return dir_; }
  const CertSetFiles& files() const { return files_; }

  // The live set; nullopt when the key or the certificate (or the configured chain) is missing.
  Result<std::optional<CertSetBytes>> read_live() const;
  // Ends a deploy a crash interrupted: the staged set whole, or else the set it replaced
  // whole, and the intent removed either way. An error (intent kept, live files as they were
  // before the call) only when neither set can be written.
  Result<Recovery> recover(const CertSetOwnership& own);
  // Archives the live set (if any), stages `fresh`, and writes it over the live files.
  Result<void> deploy(const CertSetBytes& fresh, const CertSetOwnership& own);
  // Writes the newest archived set back over the live files (same procedure) and drops it
  // from the archive. An error if there is none.
  Result<void> restore_previous(const CertSetOwnership& own);
  // Archived sets, newest first.
  std::vector<std::filesystem::path> previous_sets() const;

 private:
  Result<void> stage(const CertSetBytes& set, long previous);
  // Key, certificate, chain over the live files, all or nothing (see cert_set.cpp); `mixed`
  // is set when a failure could not be undone.
  Result<void> write_files(const CertSetBytes& set, const CertSetOwnership& own, bool& mixed);
  // write_files, then the intent removed: the live set is whole.
  Result<void> write_live(const CertSetBytes& set, const CertSetOwnership& own);
  Result<void> drop_intent();
  // The archive's sequence number.
  Result<long> archive(const CertSetBytes& set);
  // The archive the intent names (newest for an intent written before it named one); 0: none.
  long intent_previous() const;

  std::filesystem::path dir_;
  CertSetFiles files_;
  int keep_previous_;
};

}  // namespace certwatch::pki
