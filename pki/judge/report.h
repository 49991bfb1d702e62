// What the judge answers: compact records of certificates and keys (no OpenSSL object, no
// key material) and the report of one target, plus their one JSON spelling. Contract for the
// CLI, the agent's inventory, the HTTP API and MQTT payloads; extend, don't rename.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pki/judge/cert_role.h"
#include "pki/judge/finding.h"

namespace certwatch {
class JsonWriter;  // base/json.h
}  // namespace certwatch

namespace certwatch::pki {

// Compact record of one certificate: what the inventory keeps (no OpenSSL object).
struct CertRecord {
  int index = 0;  // position in the file (0 = first)
  CertRole role = CertRole::unrelated;
  std::string subject;  // RFC 2253
  std::string issuer;
  std::string subject_cn;
  std::string issuer_cn;
  std::string serial;  // upper-case hex
  std::string sha256;  // lower-case hex
  int64_t not_before = 0;
  int64_t not_after = 0;
  std::vector<std::string> sans;  // "DNS:x", "IP:y"
  std::string key_type;           // "EC P-256", "RSA 2048", "ED25519"
  std::string signature_algorithm;
  bool is_ca = false;
  bool operator==(const CertRecord&) const = default;
};

// A private key found beside certificates (its material never leaves pki/).
struct KeyRecord {
  std::string path;
  bool encrypted = false;   // could not be opened without a passphrase
  std::string spki_sha256;  // public-key fingerprint ("" if encrypted)
  std::string key_type;
  unsigned mode = 0;  // file permission bits, for key.permissions
};

// One client family's verdict on a served chain (pki/verify/clients.h).
struct ClientVerdict {
  std::string family;
  bool accepts = false;
  std::string reason;  // why it rejects; "" when it accepts
};

// The verdict for one target (a file, or an endpoint's served chain).
struct Report {
  std::string target;             // the path or host:port
  std::vector<CertRecord> certs;  // in file order
  std::vector<Finding> findings;  // every finding that applies, catalogue ids
  std::optional<KeyRecord> key;   // the paired key, if any
  bool trusted = false;  // a verified path to a trust anchor exists (openssl verify's verdict)
  std::optional<std::string> verify_error;  // OpenSSL's X509_V_ERR name when not trusted
  std::vector<int> fixed_order;    // indexes of certs for --fix-order (leaf first, no dups/extras)
  std::vector<std::string> notes;  // what the loader skipped ("block 3: X509 CRL skipped")
  bool fixable = false;            // fixed_order is a complete path (no issuer missing)
  bool order_judged = true;        // false for a PKCS#7 set, whose order carries no meaning
  std::vector<ClientVerdict> clients;  // JudgeOptions::clients' predictions, in that order
};

// The JSON fields of a certificate record and of a finding, written into an object the caller
// has opened (so it can add its own keys: file, days_left...). One spelling for the CLI, the
// HTTP API and MQTT payloads.
void write_json_fields(JsonWriter& w, const CertRecord& c);
void write_json_fields(JsonWriter& w, const Finding& f);

}  // namespace certwatch::pki
