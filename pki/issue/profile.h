// Certificate profiles: exactly the extensions the seeds teach, nothing copied from requests.
//   root:         basicConstraints critical CA:TRUE; keyUsage critical keyCertSign, cRLSign; SKI
//   intermediate: basicConstraints critical CA:TRUE, pathlen N (default 0); keyUsage critical
//                 keyCertSign, cRLSign; SKI; AKI keyid
//   server:       basicConstraints CA:FALSE; keyUsage critical digitalSignature (+ keyEncipherment
//                 for RSA keys, needed by TLS 1.2 RSA key exchange); EKU serverAuth; SAN
//                 (required); SKI; AKI keyid
//   client:       as server with EKU clientAuth; SAN optional
// Thread-safety: reentrant.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "pki/x509/certificate.h"
#include "pki/x509/ossl_ptr.h"

namespace certwatch::pki {

enum class Profile { root, intermediate, server, client };

Result<Profile> parse_profile(std::string_view name);  // "root", "intermediate", "server", "client"
std::string_view to_string(Profile profile);
bool is_ca_profile(Profile profile);

struct ProfileParams {
  Profile profile = Profile::server;
  std::optional<int> path_len;  // intermediate only; unset means 0
  std::vector<SubjectAltName> sans;
};

// Checks the parameters against the profile's rules (a server needs a SAN, a root or a leaf
// takes no path length, path length is not negative, SANs are well-formed) before anything
// is built. add_profile_extensions calls it too.
Result<void> check_profile(const ProfileParams& params);

// Adds the profile's extensions to `cert`, whose subject and public key are already set.
// `issuer` is the signing CA's certificate, or null for a self-signed root.
Result<void> add_profile_extensions(X509* cert, X509* issuer, const ProfileParams& params);

// The SANs as GENERAL_NAMES (IPs as addresses, the rest as IA5 strings): the certificates'
// extension and the ACME CSR's (pki/acme/csr_builder.h).
Result<UniquePtr<GENERAL_NAMES>> general_names_of(const std::vector<SubjectAltName>& sans);

// The digest to sign with for a signer key: SHA-384 for P-384, none for Ed25519 (pure
// signature), SHA-256 otherwise.
const EVP_MD* signing_digest(const EVP_PKEY* signer);

}  // namespace certwatch::pki
