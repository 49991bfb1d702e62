// Names in the RFC 2253 one-line form Certificate::subject()/issuer() print ("CN=a\,b,O=Lab"),
// read back where only that string was kept (a ledger row records the subject, not the
// certificate). Thread-safety: reentrant.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "pki/x509/dn.h"

namespace certwatch::pki {

// The attributes in the string's order (most specific first, as RFC 2253 prints them; the
// members of a multi-valued RDN flattened in place). Escapes are undone: "\," "\+" "\\"
// "\"" "\<" "\>" "\;" "\=" "\#" "\ " and "\HH" hex octets (OpenSSL's escape for control
// characters). A value printed as "#hex" (a type that is not a string) is kept as written.
Result<std::vector<DnEntry>> parse_rfc2253(std::string_view text);

// The CN Certificate::subject_cn() would give for the name printed as `text`: the name's last
// CN, which RFC 2253's reversed order prints first. "" if there is none or `text` is malformed.
std::string rfc2253_cn(std::string_view text);

}  // namespace certwatch::pki
