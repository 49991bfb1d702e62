// The issuer's shared parts, private to pki/issuer*.cpp, ca_store.cpp, csr.cpp and
// revocation.cpp: file modes, the loaded-CA cache entry, PEM helpers and the output transaction
// (files written only after everything else succeeded, together with the ledger row).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pki/issue/issuer.h"
#include "pki/sign/ca_key.h"

namespace certwatch::pki {

inline constexpr mode_t kDirMode = 0700;
inline constexpr mode_t kCaKeyMode = 0400;
inline constexpr mode_t kKeyMode = 0600;
inline constexpr mode_t kCertMode = 0644;

struct Issuer::LoadedCa {
  std::string name;
  Certificate cert;
  std::vector<Certificate> intermediates;  // the CA itself first, up to (not incl.) the root
  CaKey key;
  std::optional<Passphrase> passphrase;  // the one that opened the key: a cache hit needs the same
};

// Every PEM certificate in `pem`; none is an error naming `what`.
Result<std::vector<Certificate>> parse_certs(std::string_view pem, const std::string& what);
// The certificates' PEM, concatenated in order.
std::string pem_of(const std::vector<Certificate>& certs);

// Output files of one operation, written only after everything else succeeded. Without
// `force`, every target must be absent (checked first, then enforced by no-clobber links);
// if a write fails, the files this set already created are removed again.
class OutputSet {
 public:
  void add(std::filesystem::path path, std::string bytes, mode_t mode);
  Result<void> check_absent(bool force) const;
  Result<std::vector<std::filesystem::path>> write(bool force);
  ~OutputSet();

 private:
  struct File {
    std::filesystem::path path;
    std::string bytes;
    mode_t mode;
  };
  std::vector<File> files_;
};

// What an operation collected before its certificate exists.
struct Outcome {
  std::vector<std::filesystem::path> written;
  std::vector<std::string> warnings;
  Issued finish(const Certificate& cert) {
    return Issued{cert, std::move(written), std::move(warnings)};
  }
};

// A new CA's key, where `key` says (issuer.h NewKey). For one kept in memory, `pem` is what
// the CA's key file will hold (encrypted under `passphrase`); for one in a token, the URI file's
// text, and the ledger's key_uri.
struct MadeKey {
  CaKey key;
  std::string file_bytes;
  std::string key_type;
  std::string key_uri;  // "" for a key in memory
  bool generated = true;
};
Result<MadeKey> make_ca_key(KeyType type, const NewKey& key,
                            const std::optional<Passphrase>& passphrase);

// The ledger row of a certificate signed here.
LedgerEntry entry_for(const Certificate& cert, const std::string& ca, const std::string& name,
                      const std::string& key_type, Profile profile, int64_t now);

// Records the certificate and writes its files as one unit: the ledger row commits only if
// every file was written, and a failed write rolls back both. A forced issue replaces the
// name: the valid certificates recorded under it by the same CA become superseded.
Result<void> record_and_write(Ledger& ledger, const LedgerEntry& entry, OutputSet& files,
                              bool force, Outcome& out);

}  // namespace certwatch::pki
