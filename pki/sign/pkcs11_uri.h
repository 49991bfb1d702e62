// PKCS#11 URIs (RFC 7512) naming a CA's private key in a token, e.g.
//   pkcs11:token=ca;object=server-ca;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so
// Path attributes: token, manufacturer, serial, model (which token), object, id (which key),
// type (private, or absent). Query attributes: module-path (the PKCS#11 library; required, as
// no system default is assumed), pin-source (a file whose first line is the user PIN,
// "file:" optional). A PIN written into the URI (pin-value) is refused: URIs are stored in the
// PKI directory and the ledger, and appear in logs. Thread-safety: plain values.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace certwatch::pki {

struct Pkcs11Uri {
  std::string token;         // token label
  std::string manufacturer;  // token manufacturer
  std::string serial;        // token serial number
  std::string model;         // token model
  std::string object;        // key label (CKA_LABEL)
  std::string id;            // key id (CKA_ID), raw bytes
  std::string module_path;   // the PKCS#11 library to load
  std::string pin_source;    // a file holding the user PIN, or empty

  // The canonical text: every attribute set, percent-encoded where RFC 7512 requires.
  std::string text() const;
};

// True when `s` is meant as a PKCS#11 URI (starts with "pkcs11:", case-insensitively).
bool is_pkcs11_uri(std::string_view s);

// Parses a PKCS#11 URI naming a private key; the error says which attribute is wrong.
Result<Pkcs11Uri> parse_pkcs11_uri(std::string_view text);

}  // namespace certwatch::pki
