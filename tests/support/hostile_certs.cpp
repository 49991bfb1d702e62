#include "support/hostile_certs.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>
#include <vector>

namespace testing {
namespace {

using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Cert = std::unique_ptr<X509, decltype(&X509_free)>;

Key new_key() {
  Key k(EVP_EC_gen("P-256"), &EVP_PKEY_free);
  if (!k) throw std::runtime_error("EVP_EC_gen failed");
  return k;
}

std::string to_pem(X509* x) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  PEM_write_bio_X509(bio.get(), x);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

Cert make_ca(int serial, EVP_PKEY* subject_key, EVP_PKEY* signer) {
  Cert x(X509_new(), &X509_free);
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), serial + 1);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Same Name CA"), -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 86400L * 365);
  X509_set_pubkey(x.get(), subject_key);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
  X509_EXTENSION* bc = X509V3_EXT_conf_nid(nullptr, &ctx, NID_basic_constraints, "critical,CA:TRUE");
  X509_add_ext(x.get(), bc, -1);
  X509_EXTENSION_free(bc);
  if (X509_sign(x.get(), signer, EVP_sha256()) <= 0) throw std::runtime_error("X509_sign failed");
  return x;
}

}  // namespace

std::string same_name_ca_pem(int n, bool distinct_keys) {
  std::vector<Key> keys;
  keys.push_back(new_key());
  if (distinct_keys)
    for (int i = 1; i < n; ++i) keys.push_back(new_key());
  std::string out;
  for (int i = 0; i < n; ++i) {
    EVP_PKEY* own = keys[distinct_keys ? static_cast<size_t>(i) : 0].get();
    EVP_PKEY* signer = distinct_keys ? keys[static_cast<size_t>(i + 1 < n ? i + 1 : i)].get() : own;
    out += to_pem(make_ca(i, own, signer).get());
  }
  return out;
}

}  // namespace testing
