// The work one file may cost the judge. A file is at most 10 MiB (kMaxInputBytes), which
// holds ~22,000 small certificates; without these bounds a file of same-name CA certificates
// without key identifiers costs a signature check per pair (1,000 certificates: 67 s). Beyond
// a limit the judge stops that part of the work and reports `input.too_complex` (the verdict
// covers what was analysed), so any input is judged or refused in well under a second of CPU.
// The figures are documented in README.md ("Security"); bench/RESULTS.md has the timings.
#pragma once

#include <cstddef>
#include <string>

#include "pki/judge/finding.h"

namespace certwatch::pki {

// Certificates of one file that are judged (records, lints, chain graph, OpenSSL's verdict);
// the rest are counted in the finding and otherwise ignored. A public CA bundle has ~150.
inline constexpr std::size_t kMaxCertificatesAnalysed = 1000;
// Same-name issuer candidates whose signature is tried for one certificate (after the
// AKI/SKI filter). Real PKIs have one or two (a re-keyed CA); more is ambiguous anyway.
inline constexpr int kMaxIssuerCandidates = 8;
// Signature checks the chain graph of one file may make (self-signature and issuer tests).
inline constexpr int kMaxSignatureChecks = 512;

// `input.too_complex` when the issuer candidates or the signature budget ran out.
Finding chain_limit_finding(const SeverityPolicy& policy, const std::string& target);
// `input.too_complex` for a file of `total` certificates, of which kMaxCertificatesAnalysed
// were judged.
Finding too_many_certificates_finding(const SeverityPolicy& policy, const std::string& target,
                                      std::size_t total);

}  // namespace certwatch::pki
