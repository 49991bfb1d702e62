#include "pki/x509/issued_facts.h"

#include <openssl/evp.h>
#include <openssl/objects.h>

#include "pki/issue/profile.h"

namespace certwatch::pki {

PublicKeyInfo key_type_info(KeyType type) {
  switch (type) {
    case KeyType::ec_p256:
      return {"EC", 256, "prime256v1"};
    case KeyType::ec_p384:
      return {"EC", 384, "secp384r1"};
    case KeyType::rsa_2048:
      return {"RSA", 2048, ""};
    case KeyType::rsa_3072:
      return {"RSA", 3072, ""};
    case KeyType::rsa_4096:
      return {"RSA", 4096, ""};
    case KeyType::ed25519:
      return {"ED25519", 253, ""};
  }
  return {};
}

std::string signature_algorithm_signed_by(const Certificate& ca) {
  const EVP_PKEY* key = ca.public_key_object();
  if (key == nullptr) return {};
  const EVP_MD* md = signing_digest(key);
  const int key_nid = EVP_PKEY_get_base_id(key);
  // Ed25519 signs without a separate digest: its signature algorithm is the key's own.
  int sig_nid = key_nid;
  if (md != nullptr && OBJ_find_sigid_by_algs(&sig_nid, EVP_MD_get_type(md), key_nid) != 1)
    return {};
  const char* ln = OBJ_nid2ln(sig_nid);
  return ln != nullptr ? ln : "";
}

}  // namespace certwatch::pki
