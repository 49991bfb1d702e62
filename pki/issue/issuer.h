// The built-in issuer: a PKI directory laid out like seed 001 (DESIGN.md):
//   D/<ca>/private/<ca>.key.pem   CA key, 0400 (PKCS#8, AES-256 when a passphrase is set)
//   D/<ca>/private/<ca>.key.pkcs11  or instead: the PKCS#11 URI of the CA's key in a token
//                                 (pki/sign/pkcs11_uri.h; never a PIN), 0600
//   D/<ca>/certs/<ca>.cert.pem    CA certificate
//   D/<ca>/certs/<ca>.chain.pem   intermediates only: the CA and its parents, no root
//   D/<ca>/crl/<ca>.crl.pem       the CA's latest CRL
//   D/ca-bundle.pem               root only (or intermediates + root on request)
//   D/ledger.sqlite               every certificate signed here
// The root is "root-ca". Every operation validates all of its input, loads the CA key, signs,
// and only then writes; a refusal writes nothing, and a failed write removes what it created.
// Thread-safety: one Issuer per thread (it caches loaded CAs and a ledger connection);
// processes may share a directory (the ledger serialises them; outputs are created with
// no-clobber links unless forced).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "pki/issue/ledger.h"
#include "pki/issue/profile.h"
#include "pki/sign/pkcs11_uri.h"
#include "pki/x509/certificate.h"
#include "pki/x509/keygen.h"

namespace certwatch::pki {

class CaKey;
class OutputSet;
struct MadeKey;

inline constexpr const char* kRootCaName = "root-ca";
inline constexpr int64_t kBackdateSeconds = 60;

// How a validity beyond the issuer's notAfter is handled: refused (an explicit request), or
// clamped to the issuer with a warning (defaults, and the renewer).
enum class BeyondIssuer { refuse, clamp };

// Where a new CA's key lives. Without a URI it is generated in memory and written to the CA's
// PEM file; with one it stays in the token: the key the URI names is used if the token holds
// it and no key type was asked for, else it is generated there (RSA only: token_key.h), and
// the CA's directory records the URI. The PIN (or the URI's pin-source) logs in to the token.
struct NewKey {
  std::optional<Pkcs11Uri> token;
  std::optional<Passphrase> pin;
  bool key_type_given = true;  // false: a key the token already holds is used as it is
};

// A secret that opens an existing CA's key (ca_passphrase, parent_passphrase, write_crl's
// passphrase) is the passphrase of its encrypted PEM file, or, for a CA whose key is in a
// token, the token's user PIN.

struct InitRequest {
  std::string subject;  // "/C=DE/O=x/CN=Root CA"
  KeyType key_type = KeyType::ec_p256;
  int64_t validity_seconds = 3650 * 86400;
  std::optional<Passphrase> passphrase;  // encrypts the root key
  bool force = false;
  int64_t now = 0;
  NewKey new_key;
};

struct CaRequest {
  std::string name;
  std::string subject;
  std::string parent = kRootCaName;
  int path_len = 0;
  KeyType key_type = KeyType::ec_p256;
  int64_t validity_seconds = 1825 * 86400;
  BeyondIssuer beyond_issuer = BeyondIssuer::refuse;
  std::optional<Passphrase> passphrase;         // encrypts the new CA's key
  std::optional<Passphrase> parent_passphrase;  // opens the parent's key
  bool force = false;
  int64_t now = 0;
  NewKey new_key;
};

struct IssueRequest {
  std::string ca;
  Profile profile = Profile::server;
  std::string name;                     // file stem of the outputs
  std::string subject;                  // may be empty with a CSR: the CSR's subject is used
  std::vector<std::string> sans;        // "DNS:x", "IP:y" (validated)
  std::optional<std::string> csr;       // PEM or DER; its key is certified, its SANs validated
  KeyType key_type = KeyType::ec_p256;  // when no CSR is given
  int64_t validity_seconds = 365 * 86400;
  BeyondIssuer beyond_issuer = BeyondIssuer::refuse;
  std::filesystem::path out_dir;  // default D/issued
  std::optional<Passphrase> ca_passphrase;
  bool force = false;
  int64_t now = 0;
};

struct ImportRequest {
  std::string name;       // default root-ca for a self-signed CA; required otherwise
  std::string cert_pem;   // the CA certificate
  std::string key_pem;    // its private key, or empty with key_uri
  std::string chain_pem;  // optional: its parents (intermediates and/or root), any order
  std::optional<Passphrase> passphrase;  // opens the key; the stored key stays encrypted with it
  bool force = false;
  std::optional<Pkcs11Uri> key_uri;  // instead of key_pem: the key is in this token
  std::optional<Passphrase> pin;     // logs in to that token
};

struct Issued {
  Certificate cert;
  std::vector<std::filesystem::path> written;
  std::vector<std::string> warnings;
};

struct CrlResult {
  std::filesystem::path path;
  int64_t number = 0;
  size_t revoked = 0;
};

class Issuer {
 public:
  explicit Issuer(std::filesystem::path dir);
  ~Issuer();
  Issuer(const Issuer&) = delete;
  Issuer& operator=(const Issuer&) = delete;

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path ca_cert_path(const std::string& ca) const;
  std::filesystem::path ca_key_path(const std::string& ca) const;
  std::filesystem::path ca_key_uri_path(const std::string& ca) const;
  // True when the CA's key is in a token (its directory holds a URI, not a key file).
  bool ca_key_in_token(const std::string& ca) const;
  std::filesystem::path ca_chain_path(const std::string& ca) const;
  std::filesystem::path crl_path(const std::string& ca) const;
  std::filesystem::path bundle_path() const { return dir_ / "ca-bundle.pem"; }
  std::filesystem::path ledger_path() const { return dir_ / "ledger.sqlite"; }
  std::filesystem::path default_out_dir() const { return dir_ / "issued"; }

  // CA names present in the directory, sorted (root first).
  std::vector<std::string> ca_names() const;
  // A CA's certificate (no key needed).
  Result<Certificate> ca_certificate(const std::string& ca) const;

  Result<Issued> init(const InitRequest& request);
  Result<Issued> create_ca(const CaRequest& request);
  Result<Issued> issue(const IssueRequest& request);
  Result<Issued> import_ca(const ImportRequest& request);
  // Writes the device bundle (root only, or intermediates then root) to `out`
  // (default D/ca-bundle.pem).
  Result<std::filesystem::path> write_bundle(bool with_intermediates,
                                             const std::optional<std::filesystem::path>& out);
  // Marks a certificate revoked in the ledger, found by serial or by name (exactly one match).
  Result<LedgerEntry> revoke(const std::optional<std::string>& ca,
                             const std::optional<std::string>& serial,
                             const std::optional<std::string>& name, const std::string& reason,
                             int64_t now);
  // A certificate issued here that never went live (the renewer rolled its deploy back): see
  // Ledger::withdraw. Returns how many superseded certificates are current again.
  Result<int> withdraw(const std::string& ca, const std::string& serial, int64_t now);
  // The live certificate is the current one of its name again: see Ledger::reinstate.
  Result<int> reinstate(const std::string& ca, const std::string& live_serial, int64_t now);
  // Signs and writes the CA's CRL (default D/<ca>/crl/<ca>.crl.pem).
  Result<CrlResult> write_crl(const std::string& ca, const std::optional<Passphrase>& passphrase,
                              int64_t next_update_seconds, int64_t now,
                              const std::optional<std::filesystem::path>& out);
  Result<Ledger*> ledger();

 private:
  struct LoadedCa;
  Result<LoadedCa*> load_ca(const std::string& name, const std::optional<Passphrase>& passphrase);
  Result<CaKey> open_ca_key(const std::string& name, const std::optional<Passphrase>& secret) const;
  void add_key_file(OutputSet& files, const std::string& ca, MadeKey& key) const;
  void remove_other_key_file(const std::string& ca, bool in_token) const;
  Result<void> require_pki_dir() const;

  std::filesystem::path dir_;
  std::map<std::string, std::unique_ptr<LoadedCa>> cas_;
  std::optional<Ledger> ledger_;
};

// A name usable as a file stem and CA directory: [A-Za-z0-9._-], not starting with '.' or '-'.
Result<void> check_file_name(const std::string& what, const std::string& name);

// 20 random octets, positive, first octet in 0x40..0x7f: 158 random bits and a fixed length.
Result<UniquePtr<ASN1_STRING>> random_serial();

}  // namespace certwatch::pki
