// Ownership of OpenSSL objects, in the BoringSSL shape: one stateless deleter per type and
// `pki::UniquePtr<T>`. Respect get0/get1/set0/set1: call release() only after a call that
// takes ownership has succeeded. Raw OpenSSL pointers do not travel beyond pki/.
#pragma once

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/param_build.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

namespace certwatch::pki {

template <class T>
struct Deleter;

#define CERTWATCH_OSSL_DELETER(type, free_fn)               \
  template <>                                               \
  struct Deleter<type> {                                    \
    void operator()(type* p) const noexcept { free_fn(p); } \
  };

CERTWATCH_OSSL_DELETER(X509, X509_free)
CERTWATCH_OSSL_DELETER(X509_REQ, X509_REQ_free)
CERTWATCH_OSSL_DELETER(X509_CRL, X509_CRL_free)
CERTWATCH_OSSL_DELETER(X509_NAME, X509_NAME_free)
CERTWATCH_OSSL_DELETER(X509_EXTENSION, X509_EXTENSION_free)
CERTWATCH_OSSL_DELETER(X509_STORE, X509_STORE_free)
CERTWATCH_OSSL_DELETER(X509_STORE_CTX, X509_STORE_CTX_free)
CERTWATCH_OSSL_DELETER(X509_VERIFY_PARAM, X509_VERIFY_PARAM_free)
CERTWATCH_OSSL_DELETER(EVP_PKEY, EVP_PKEY_free)
CERTWATCH_OSSL_DELETER(EVP_PKEY_CTX, EVP_PKEY_CTX_free)
CERTWATCH_OSSL_DELETER(EVP_MD_CTX, EVP_MD_CTX_free)
CERTWATCH_OSSL_DELETER(EVP_CIPHER_CTX, EVP_CIPHER_CTX_free)
CERTWATCH_OSSL_DELETER(BIO, BIO_free_all)
CERTWATCH_OSSL_DELETER(BIGNUM, BN_free)
CERTWATCH_OSSL_DELETER(OSSL_PARAM_BLD, OSSL_PARAM_BLD_free)
// ASN1_INTEGER, ASN1_TIME, ASN1_OCTET_STRING... are all ASN1_STRING: one deleter serves them.
CERTWATCH_OSSL_DELETER(ASN1_STRING, ASN1_STRING_free)
CERTWATCH_OSSL_DELETER(GENERAL_NAMES, GENERAL_NAMES_free)
CERTWATCH_OSSL_DELETER(BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_free)
CERTWATCH_OSSL_DELETER(AUTHORITY_KEYID, AUTHORITY_KEYID_free)
CERTWATCH_OSSL_DELETER(EXTENDED_KEY_USAGE, EXTENDED_KEY_USAGE_free)
CERTWATCH_OSSL_DELETER(PKCS7, PKCS7_free)
CERTWATCH_OSSL_DELETER(PKCS12, PKCS12_free)
CERTWATCH_OSSL_DELETER(SSL_CTX, SSL_CTX_free)
CERTWATCH_OSSL_DELETER(SSL, SSL_free)

#undef CERTWATCH_OSSL_DELETER

template <class T>
using UniquePtr = std::unique_ptr<T, Deleter<T>>;

struct X509StackDeleter {
  void operator()(STACK_OF(X509) * s) const noexcept { sk_X509_pop_free(s, X509_free); }
};
using X509Stack = std::unique_ptr<STACK_OF(X509), X509StackDeleter>;

// Shared ownership by explicit reference counting.
inline UniquePtr<X509> up_ref(X509* x) {
  if (x != nullptr) X509_up_ref(x);
  return UniquePtr<X509>(x);
}
inline UniquePtr<EVP_PKEY> up_ref(EVP_PKEY* k) {
  if (k != nullptr) EVP_PKEY_up_ref(k);
  return UniquePtr<EVP_PKEY>(k);
}

// Drains the thread's OpenSSL error queue into one line ("" when empty). Call it when a
// function's return value said it failed; never infer failure from the queue alone.
std::string drain_errors();

}  // namespace certwatch::pki
