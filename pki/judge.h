// The judge: turns what was read from a file (or served by an endpoint) into compact
// certificate records and findings. The same code serves `certwatch check`, the agent's
// inventory and the renewer's pre-deploy check. Contract for every caller; extend, don't
// rename. Thread-safety: judge_* functions are reentrant; a VerifyCache may be shared
// between threads (it locks internally).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "pki/certificate.h"
#include "pki/finding.h"

namespace pki {

enum class Purpose { any, server, client };

class TrustIndex;  // pki/chain.h: the anchors indexed, with their X509_STORE

// Builds the index of trust anchors once, to be shared by many judge_* calls through
// JudgeOptions::trust_index (building it per file costs more than judging a small chain).
std::shared_ptr<const TrustIndex> make_trust_index(std::span<const Certificate> trust);

// Expiry thresholds. Unset: relative to lifetime, warning below min(30d, lifetime/3),
// critical below min(7d, lifetime/10) (DESIGN.md). Set: these absolute amounts of seconds,
// still capped by the lifetime fractions so short-lived certificates make sense.
struct Thresholds {
  int64_t warning_seconds = 30 * 86400;
  int64_t critical_seconds = 7 * 86400;
};

struct JudgeOptions {
  std::vector<Certificate> trust;  // trust anchors (and extra intermediates from bundles)
  std::optional<std::string> host;  // hostname or IP to match against the leaf's SANs
  Purpose purpose = Purpose::any;
  Thresholds thresholds;
  int64_t now = 0;  // POSIX seconds; the caller's clock (injected). 0: the system clock, read
                    // once per judged chain so lints and OpenSSL's verdict use one instant
  SeverityPolicy policy;
  // The first certificate is meant as a leaf (an endpoint's served chain). Otherwise a file
  // holding only CA certificates is judged as a CA bundle: no leaf, order or extra findings.
  // A file named explicitly (check's argument, a watch entry that is a file) is judged with
  // it when a purpose or host is given: the caller said it is a server's or client's file,
  // and one without an end-entity certificate is chain.no_end_entity.
  bool expect_leaf = false;
  // Budget for chain.too_large: certificates in the file, and their total DER size.
  int max_chain_certs = 4;
  size_t max_chain_bytes = 8192;
  // Optional prebuilt index of `trust` (make_trust_index); built per call when null.
  std::shared_ptr<const TrustIndex> trust_index;
  // Worker threads for judge_paths (0: one per core, at most 8; 1: the calling thread only).
  unsigned threads = 0;
  // Client families to predict for a served chain (pki/clients.h: "openssl", "gnutls", "go",
  // "mbedtls"); empty: none. Not for CA bundles.
  std::vector<std::string> clients;
};

// One client family's verdict on a served chain (pki/clients.h).
struct ClientVerdict {
  std::string family;
  bool accepts = false;
  std::string reason;  // why it rejects; "" when it accepts
};

// Compact record of one certificate: what the inventory keeps (no OpenSSL object).
struct CertRecord {
  int index = 0;         // position in the file (0 = first)
  std::string role;      // "leaf", "intermediate", "root", "unrelated"
  std::string subject;   // RFC 2253
  std::string issuer;
  std::string subject_cn;
  std::string issuer_cn;
  std::string serial;    // upper-case hex
  std::string sha256;    // lower-case hex
  int64_t not_before = 0;
  int64_t not_after = 0;
  std::vector<std::string> sans;  // "DNS:x", "IP:y"
  std::string key_type;           // "EC P-256", "RSA 2048", "ED25519"
  std::string signature_algorithm;
  bool is_ca = false;
};

// A private key found beside certificates (its material never leaves pki/).
struct KeyRecord {
  std::string path;
  bool encrypted = false;      // could not be opened without a passphrase
  std::string spki_sha256;     // public-key fingerprint ("" if encrypted)
  std::string key_type;
  unsigned mode = 0;           // file permission bits, for key.permissions
};

// The verdict for one target (a file, or an endpoint's served chain).
struct Report {
  std::string target;              // the path or host:port
  std::vector<CertRecord> certs;   // in file order
  std::vector<Finding> findings;   // every finding that applies, catalogue ids
  std::optional<KeyRecord> key;    // the paired key, if any
  bool trusted = false;            // a verified path to a trust anchor exists (openssl verify's verdict)
  std::optional<std::string> verify_error;  // OpenSSL's X509_V_ERR name when not trusted
  std::vector<int> fixed_order;    // indexes of certs for --fix-order (leaf first, no dups/extras)
  std::vector<std::string> notes;  // what the loader skipped ("block 3: X509 CRL skipped")
  bool fixable = false;            // fixed_order is a complete path (no issuer missing)
  bool order_judged = true;        // false for a PKCS#7 set, whose order carries no meaning
  std::vector<ClientVerdict> clients;  // JudgeOptions::clients' predictions, in that order
};

// Caches "child signed by issuer" answers by (child sha256, issuer sha256), so an
// intermediate shared by many chains is verified once: by the chain graph and by the trust
// verdict alike (pki/chain.h installs it in OpenSSL's verification in place of X509_verify).
class VerifyCache {
 public:
  VerifyCache();
  ~VerifyCache();
  // Names match and the signature verifies with the issuer's public key.
  bool signed_by(const Certificate& child, const Certificate& issuer);
  // The signature alone, as X509_verify(child, issuer's public key) == 1 answers it (names are
  // not compared: OpenSSL's path validation has matched them already).
  bool signature_verifies(const Certificate& child, const Certificate& issuer);
  // Signatures actually checked so far (cache misses); for tests and benchmarks.
  uint64_t verifications() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Judges certificates already parsed (from a file or from the wire).
Report judge_chain(std::string target, std::span<const Certificate> chain,
                   const std::optional<KeyRecord>& key, const JudgeOptions& options,
                   VerifyCache* cache = nullptr);

// Reads and judges one file. A key file given explicitly pairs with the file's leaf. Input
// problems become input.* findings on the report, never exceptions.
Report judge_file(const std::filesystem::path& path, const JudgeOptions& options,
                  const std::optional<std::filesystem::path>& key_path = std::nullopt,
                  VerifyCache* cache = nullptr);

// Walks files and directories (recursive, symlink loops detected, files over 10 MiB refused),
// pairs keys with certificates by file stem, and judges every certificate file. Key-only
// files produce no report of their own unless they have findings (e.g. key.permissions).
std::vector<Report> judge_paths(std::span<const std::filesystem::path> paths,
                                const JudgeOptions& options,
                                const std::optional<std::filesystem::path>& key_path = std::nullopt,
                                VerifyCache* cache = nullptr);

// The pairing rule of judge_paths, in one place for `certwatch check` and the agent. Files
// pair when their stems match ("x" for x.key.pem, x.cert.pem, x.chain.pem, x.crt, x.key...)
// within one directory, where seed 001's private/ and certs/ folders count as their parent.
std::string pairing_stem(const std::filesystem::path& file);
// The directories where a partner of `file` may lie: its base directory (the parent, or the
// grandparent for a file in private/ or certs/) and the base's private/ and certs/ folders.
std::vector<std::filesystem::path> pairing_dirs(const std::filesystem::path& file);
// The key judge_paths pairs with certificate file `cert` when walking its directories: the
// first (in walk order) certificate-like regular file, other than `cert`, with the same
// pairing_stem that holds private keys and no certificate and opens as a key. Its material
// stays in pki/ (the record only has the fingerprint).
std::optional<KeyRecord> paired_key_for(const std::filesystem::path& cert);
// The same choice among files already listed (the agent's targets): `files` may hold
// anything; only those with cert's pairing_stem are opened.
std::optional<KeyRecord> paired_key_among(const std::filesystem::path& cert,
                                          std::vector<std::filesystem::path> files);

// Judges one file exactly as judge_paths judges it inside a walk: a key the file carries
// itself wins (and its findings are reported here); otherwise `paired_key` (from
// paired_key_for) is compared with the leaf but its own findings (key.permissions,
// key.encrypted) belong to the key file's report, as in judge_paths. A key-only file gives
// its own findings. `explicit_arg`: the file was named, not found in a directory.
Report judge_walked_file(const std::filesystem::path& path, const JudgeOptions& options,
                         const std::optional<KeyRecord>& paired_key, bool explicit_arg,
                         VerifyCache* cache = nullptr);

class JsonWriter;  // pki/json.h

// The JSON fields of a certificate record and of a finding, written into an object the caller
// has opened (so it can add its own keys: file, days_left...). One spelling for the CLI, the
// HTTP API and MQTT payloads.
void write_json_fields(JsonWriter& w, const CertRecord& c);
void write_json_fields(JsonWriter& w, const Finding& f);

}  // namespace pki
