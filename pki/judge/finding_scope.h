// Whose fact a finding is (DESIGN.md, "Data flow"): the certificate's own (its dates, its key
// and signature, its own lints, revocation), the same wherever it lives and alerted once per
// certificate; or the place's (the order and completeness of that file's chain, that file's
// key pairing, the host and purpose asked of that target, that endpoint's probe, that entry's
// renewal), alerted per place. A finding about one certificate says so by its target
// "<target>#<index>"; a place finding may name a certificate too (chain.extra of #2).
// Thread-safety: pure functions.
#pragma once

#include <string_view>

namespace certwatch::pki {

enum class FindingScope { certificate, place };

// The scope of a catalogue id; ids outside the catalogue are place findings.
FindingScope scope_of(std::string_view id);

inline bool is_certificate_finding(std::string_view id) {
  return scope_of(id) == FindingScope::certificate;
}

}  // namespace certwatch::pki
