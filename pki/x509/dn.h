// Names given on the command line: distinguished names in the OpenSSL "-subj" syntax the seeds
// use ("/C=DE/O=My IoT Cloud/OU=PKI/CN=My IoT Cloud Root CA"), and subjectAltName entries
// ("DNS:mqtt.lab.local", "IP:127.0.0.1"). Every malformed input is an error that says what
// and where; nothing is guessed. Thread-safety: reentrant.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "pki/x509/certificate.h"
#include "pki/x509/ossl_ptr.h"

namespace certwatch::pki {

struct DnEntry {
  std::string type;   // short name as OpenSSL knows it: C, ST, L, O, OU, CN, emailAddress, ...
  std::string value;  // UTF-8
  bool operator==(const DnEntry&) const = default;
};

// "/T=v/T=v..." in order; "\/" and "\\" escape a slash and a backslash inside a value.
Result<std::vector<DnEntry>> parse_dn(std::string_view text);
// The same name as an X509_NAME (UTF-8 strings; C as PrintableString).
Result<UniquePtr<X509_NAME>> to_x509_name(const std::vector<DnEntry>& dn);
// Back to the slash syntax (for the ledger and messages).
std::string format_dn(const std::vector<DnEntry>& dn);

// One SAN: "DNS:name" (a hostname, "*.x" wildcard allowed as the first label), "IP:v4|v6",
// "email:a@b", "URI:scheme:...". The type prefix is case-insensitive. An address given as
// DNS is refused (it must be typed IP so that clients match it). A DNS name's U-labels become
// A-labels (base/idna.h: "DNS:bücher.example" is issued as xn--bcher-kva.example).
Result<SubjectAltName> parse_san(std::string_view text);
// Checks a SAN that came from elsewhere (a CSR) by the same rules.
Result<void> validate_san(const SubjectAltName& san);

// A DNS name as a SAN or a host check takes it: labels of [A-Za-z0-9_-] (not starting or
// ending with '-', at most 63 characters), dots between, "*" allowed as the whole first label
// of a longer name, at most 253 characters, and not an IP address. The config uses the same
// rule, so a name that loads is a name the issuer accepts.
Result<void> check_dns_name(std::string_view name);
// Canonical text of an IPv4 or IPv6 literal ("0:0::0001" -> "::1"), or an error.
Result<std::string> normalize_ip(std::string_view text);

}  // namespace certwatch::pki
