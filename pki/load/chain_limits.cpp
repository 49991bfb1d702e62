#include "pki/load/chain_limits.h"

namespace certwatch::pki {

Finding chain_limit_finding(const SeverityPolicy& policy, const std::string& target) {
  return make_finding(
      policy, fid::input_too_complex, target,
      "chain building stopped at its limit (" + std::to_string(kMaxIssuerCandidates) +
          " same-name issuer candidates per certificate, " + std::to_string(kMaxSignatureChecks) +
          " signature checks per file): the path may miss an issuer");
}

Finding too_many_certificates_finding(const SeverityPolicy& policy, const std::string& target,
                                      std::size_t total) {
  return make_finding(policy, fid::input_too_complex, target,
                      std::to_string(total) + " certificates; only the first " +
                          std::to_string(kMaxCertificatesAnalysed) + " are judged");
}

}  // namespace certwatch::pki
