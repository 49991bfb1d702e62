// Internationalised host names (IDNA 2008, RFC 5890-5891): people type U-labels
// ("bücher.example"), certificates, DNS and SNI carry A-labels ("xn--bcher-kva.example"), and
// OpenSSL's X509_check_host compares bytes without converting. Every place that takes a host
// name from a person (the CLI's --host and --sni, a probe target, the config's hosts, SNIs and
// managed DNS SANs) converts it here once, so that everything behind compares A-labels.
// Conversion is libidn2's, with UTS #46 non-transitional mapping as browsers and curl use it:
// upper case folds to lower case and "ß" stays "ß" (xn--fa-hia.de, not fass.de).
// Thread-safety: reentrant (libidn2 keeps no state).
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace certwatch {

// `name` with every U-label converted to its A-label. An ASCII name without an "xn--" label is
// returned exactly as given: judging its syntax (a DNS name, an IP literal, a wildcard) stays
// with the caller. A name holding an A-label or a non-ASCII byte goes through IDNA as a whole:
// an A-label must decode to a valid U-label, the result is lower case, a leading "*." wildcard
// label and a trailing dot are kept. Errors (ErrorKind::invalid_input) name the input and say
// why: not UTF-8, a code point IDNA 2008 disallows, a joiner out of context, a hyphen at a label's
// end, a label longer than 63 octets or a name longer than 253 once converted.
Result<std::string> host_to_ascii(std::string_view name);

// How messages show a host name: "bücher.example (xn--bcher-kva.example)" when `ascii_name`
// holds valid A-labels, else `ascii_name` as given.
std::string host_for_display(std::string_view ascii_name);

}  // namespace certwatch
