#include "pki/judge/finding_scope.h"

#include <algorithm>
#include <array>

#include "pki/judge/finding.h"

namespace certwatch::pki {
namespace {

// The certificate's own facts. Left out on purpose: cert.outlives_issuer (it compares with the
// issuer that place's chain holds), leaf.is_ca (a CA in the leaf's position of that file),
// leaf.hostname_mismatch and leaf.purpose_mismatch (the host and purpose asked of that target),
// ca.path_len_exceeded (the path that place builds), and every chain., key., endpoint.,
// client., renewal. and input. id.
constexpr std::array kCertificateIds = {
    fid::cert_expired,
    fid::cert_not_yet_valid,
    fid::cert_expires_soon,
    fid::cert_weak_key,
    fid::cert_weak_signature,
    fid::cert_missing_ski,
    fid::cert_missing_aki,
    fid::cert_v1,
    fid::cert_bad_serial,
    fid::leaf_no_san,
    fid::leaf_rsa_no_key_encipherment,
    fid::leaf_duplicate_san,
    fid::leaf_long_validity,
    fid::leaf_ip_in_dns_san,
    fid::ca_basic_constraints_not_critical,
    fid::ca_no_key_cert_sign,
    fid::ca_no_path_len,
};

}  // namespace

FindingScope scope_of(std::string_view id) {
  return std::find(kCertificateIds.begin(), kCertificateIds.end(), id) != kCertificateIds.end()
             ? FindingScope::certificate
             : FindingScope::place;
}

}  // namespace certwatch::pki
