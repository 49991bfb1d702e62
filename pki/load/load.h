// Reading certificate and key files: PEM with one or many blocks (certificates, PKCS#7,
// private keys; anything else is skipped and noted), DER certificates, DER PKCS#7 bundles and
// DER private keys. load_bytes() is a pure function over bytes: it is the fuzzing entry point
// and never touches the file system. Key material is not kept here: the loader only counts
// private keys; pki/x509/key.h opens them. Thread-safety: every function is reentrant.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "pki/load/dir_walk.h"
#include "pki/x509/certificate.h"

namespace certwatch::pki {

// Files over this size are refused as input.malformed (a certificate file is a few KiB).
inline constexpr std::uintmax_t kMaxInputBytes = 10u * 1024u * 1024u;

struct Loaded {
  std::string format;              // "PEM", "DER", "PKCS7-DER" or "empty"
  std::vector<Certificate> certs;  // in file order (PKCS#7 certificates in bundle order)
  int private_keys = 0;            // private-key blocks seen (their material is not kept)
  bool encrypted_key = false;      // one of them is encrypted
  int other_blocks = 0;            // PEM blocks skipped (CSR, CRL, parameters, public keys...)
  // Certificates past kMaxCertificatesAnalysed (pki/load/chain_limits.h), counted by their PEM
  // block or DER envelope but not parsed: parsing 22,000 of them alone takes seconds.
  std::size_t certs_not_parsed = 0;
  std::vector<std::string> notes;  // one line per skipped block, e.g. "block 2: X509 CRL skipped"
  // Every certificate came from PKCS#7 (a DER SET OF): their order in the file carries no
  // meaning (DER sorts them), so the judge does not judge it.
  bool unordered = false;
};

// Parses `data`; `name` only decorates messages. An error means malformed input (a PEM block
// that does not decode, unterminated PEM, bytes that are neither PEM nor DER). Empty or
// whitespace-only input is not an error: it yields format "empty" and nothing else.
Result<Loaded> load_bytes(std::string_view data, std::string_view name);

// A file read from disk: its parse, or the house's Error saying why there is none. The kind
// tells the two failures apart: ErrorKind::io when the file could not be read (missing, not a
// regular file, a read that failed), ErrorKind::invalid_input when its bytes are malformed or
// over kMaxInputBytes. The judge turns the kind into a finding id in one place
// (pki::input_finding_id, pki/judge/finding.h); the loader names no finding.
struct FileInput {
  std::filesystem::path path;
  unsigned mode = 0;  // permission bits (after following symlinks)
  Result<Loaded> loaded = make_error("not read", ErrorKind::io);
  // The file's bytes, kept only when it holds a private key, for pki/x509/key.h. Wiped with
  // OPENSSL_cleanse by wipe() and by the destructor.
  std::string key_bytes;

  FileInput() = default;
  FileInput(FileInput&&) noexcept = default;
  FileInput& operator=(FileInput&&) noexcept = default;
  FileInput(const FileInput&) = delete;
  FileInput& operator=(const FileInput&) = delete;
  ~FileInput() { wipe(); }
  void wipe();
  bool ok() const { return loaded.ok(); }
};

// Reads (refusing files over kMaxInputBytes) and parses one file.
FileInput load_file(const std::filesystem::path& path);

// Reads a file's bytes with the same size limit. Errors name the path.
Result<std::string> read_limited(const std::filesystem::path& path,
                                 std::uintmax_t limit = kMaxInputBytes);

// Trust anchors from bundle files and directories (walk_paths' rules, pki/load/dir_walk.h), with
// why each file that could not be used was skipped. The agent's watch entries and endpoints read
// their `trust:` with it.
struct TrustFiles {
  std::vector<Certificate> certs;
  std::vector<std::string> errors;  // "path: why"
};
TrustFiles load_trust_files(std::span<const std::filesystem::path> paths);
// The system's CA bundle as OpenSSL finds it ($SSL_CERT_FILE, else the built-in path): the
// trust of `check`, `probe` and the MQTT client when none is configured.
std::filesystem::path system_trust_file();

}  // namespace certwatch::pki
