#include "pki/x509/parse_context.h"

#include <openssl/asn1.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/x509.h>

#include <vector>

#include "pki/x509/ossl_ptr.h"

// The provider's functions are called by OpenSSL through OSSL_DISPATCH tables, which hold
// them as void (*)(void): the one function type every function pointer converts to and back.
#define CERTWATCH_FN(f) reinterpret_cast<void (*)(void)>(f)

namespace certwatch::pki {
namespace {

constexpr const char* kProviderName = "certwatch-leaf-parse";

// Filled when the provider is initialised: the core's BIO reader (decoders get their input
// as an OSSL_CORE_BIO), and the default context's SHA-1.
OSSL_FUNC_BIO_read_ex_fn* core_bio_read_ex = nullptr;
EVP_MD* default_sha1 = nullptr;

// ---- SHA-1: the default context's, behind this provider's dispatch table -----------------

void* sha1_newctx(void*) {
  return EVP_MD_CTX_new();
}
void sha1_freectx(void* ctx) {
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx));
}
void* sha1_dupctx(void* ctx) {
  EVP_MD_CTX* copy = EVP_MD_CTX_new();
  if (copy != nullptr && EVP_MD_CTX_copy_ex(copy, static_cast<EVP_MD_CTX*>(ctx)) != 1) {
    EVP_MD_CTX_free(copy);
    return nullptr;
  }
  return copy;
}
int sha1_init(void* ctx, const OSSL_PARAM*) {
  return EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx), default_sha1, nullptr);
}
int sha1_update(void* ctx, const unsigned char* in, size_t len) {
  return EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx), in, len);
}
int sha1_final(void* ctx, unsigned char* out, size_t* outl, size_t outsz) {
  unsigned int n = 0;
  if (outsz < 20 || EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx), out, &n) != 1) return 0;
  *outl = n;
  return 1;
}
int sha1_get_params(OSSL_PARAM params[]) {
  OSSL_PARAM* p = nullptr;
  if ((p = OSSL_PARAM_locate(params, OSSL_DIGEST_PARAM_BLOCK_SIZE)) != nullptr &&
      OSSL_PARAM_set_size_t(p, 64) != 1)
    return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_DIGEST_PARAM_SIZE)) != nullptr &&
      OSSL_PARAM_set_size_t(p, 20) != 1)
    return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_DIGEST_PARAM_XOF)) != nullptr &&
      OSSL_PARAM_set_int(p, 0) != 1)
    return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_DIGEST_PARAM_ALGID_ABSENT)) != nullptr &&
      OSSL_PARAM_set_int(p, 1) != 1)
    return 0;
  return 1;
}
const OSSL_PARAM* sha1_gettable_params(void*) {
  static const OSSL_PARAM params[] = {
      OSSL_PARAM_size_t(OSSL_DIGEST_PARAM_BLOCK_SIZE, nullptr),
      OSSL_PARAM_size_t(OSSL_DIGEST_PARAM_SIZE, nullptr),
      OSSL_PARAM_int(OSSL_DIGEST_PARAM_XOF, nullptr),
      OSSL_PARAM_int(OSSL_DIGEST_PARAM_ALGID_ABSENT, nullptr),
      OSSL_PARAM_END,
  };
  return params;
}

const OSSL_DISPATCH sha1_functions[] = {
    {OSSL_FUNC_DIGEST_NEWCTX, CERTWATCH_FN(sha1_newctx)},
    {OSSL_FUNC_DIGEST_INIT, CERTWATCH_FN(sha1_init)},
    {OSSL_FUNC_DIGEST_UPDATE, CERTWATCH_FN(sha1_update)},
    {OSSL_FUNC_DIGEST_FINAL, CERTWATCH_FN(sha1_final)},
    {OSSL_FUNC_DIGEST_FREECTX, CERTWATCH_FN(sha1_freectx)},
    {OSSL_FUNC_DIGEST_DUPCTX, CERTWATCH_FN(sha1_dupctx)},
    {OSSL_FUNC_DIGEST_GET_PARAMS, CERTWATCH_FN(sha1_get_params)},
    {OSSL_FUNC_DIGEST_GETTABLE_PARAMS, CERTWATCH_FN(sha1_gettable_params)},
    {0, nullptr},
};

// ---- Key manager: a wrapped default-context EVP_PKEY, for parameter queries only --------

void* key_load(const void* reference, size_t size) {
  if (size != sizeof(EVP_PKEY*)) return nullptr;
  // The reference holds the address of our key: take it over (the decoder frees what is
  // left there).
  auto** slot = static_cast<EVP_PKEY**>(const_cast<void*>(reference));
  EVP_PKEY* key = *slot;
  *slot = nullptr;
  return key;
}
void key_free(void* key) {
  EVP_PKEY_free(static_cast<EVP_PKEY*>(key));
}
int key_has(const void* key, int selection) {
  // A public key and its domain parameters, never a private key.
  return key != nullptr && (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) == 0 ? 1 : 0;
}
// Every query is answered by the wrapped key (OpenSSL asks every key for its sizes, and an
// EC key whether it came from explicit curve parameters).
int key_get_params(void* keydata, OSSL_PARAM params[]) {
  return EVP_PKEY_get_params(static_cast<const EVP_PKEY*>(keydata), params);
}
const OSSL_PARAM* key_gettable_params(void*) {
  static const OSSL_PARAM params[] = {
      OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, nullptr),
      OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, nullptr),
      OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, nullptr),
      OSSL_PARAM_int(OSSL_PKEY_PARAM_EC_DECODED_FROM_EXPLICIT_PARAMS, nullptr),
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, nullptr, 0),
      OSSL_PARAM_END,
  };
  return params;
}

const OSSL_DISPATCH keymgmt_functions[] = {
    {OSSL_FUNC_KEYMGMT_LOAD, CERTWATCH_FN(key_load)},
    {OSSL_FUNC_KEYMGMT_FREE, CERTWATCH_FN(key_free)},
    {OSSL_FUNC_KEYMGMT_HAS, CERTWATCH_FN(key_has)},
    {OSSL_FUNC_KEYMGMT_GET_PARAMS, CERTWATCH_FN(key_get_params)},
    {OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, CERTWATCH_FN(key_gettable_params)},
    {0, nullptr},
};

// ---- Decoder: DER SubjectPublicKeyInfo of an RSA or named-curve EC key -------------------

// The whole input of the core BIO (a SubjectPublicKeyInfo: a few hundred bytes).
bool read_all(OSSL_CORE_BIO* in, std::vector<unsigned char>& out) {
  if (core_bio_read_ex == nullptr) return false;
  unsigned char buf[1024];
  for (;;) {
    size_t n = 0;
    if (core_bio_read_ex(in, buf, sizeof buf, &n) != 1 || n == 0) return true;
    if (out.size() + n > 64 * 1024) return false;  // no public key is this large
    out.insert(out.end(), buf, buf + n);
  }
}

UniquePtr<EVP_PKEY> from_params(const char* type, const OSSL_PARAM* params) {
  UniquePtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, const_cast<OSSL_PARAM*>(params)) != 1)
    return nullptr;
  return UniquePtr<EVP_PKEY>(key);
}

// RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }, read as OpenSSL's
// own decoder reads it (the integers' magnitudes).
UniquePtr<EVP_PKEY> rsa_key(const unsigned char* der, long len) {
  const unsigned char* p = der;
  long seq_len = 0;
  int tag = 0, cls = 0;
  const int rc = ASN1_get_object(&p, &seq_len, &tag, &cls, len);
  if ((rc & 0x80) != 0 || (rc & V_ASN1_CONSTRUCTED) == 0 || tag != V_ASN1_SEQUENCE ||
      cls != V_ASN1_UNIVERSAL || p + seq_len != der + len)
    return nullptr;
  const unsigned char* end = p + seq_len;
  UniquePtr<BIGNUM> parts[2];
  for (auto& bn : parts) {
    UniquePtr<ASN1_STRING> i(d2i_ASN1_INTEGER(nullptr, &p, end - p));
    if (!i) return nullptr;
    bn.reset(BN_bin2bn(ASN1_STRING_get0_data(i.get()), ASN1_STRING_length(i.get()), nullptr));
    if (!bn) return nullptr;
  }
  if (p != end) return nullptr;
  UniquePtr<OSSL_PARAM_BLD> bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, parts[0].get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, parts[1].get()) != 1)
    return nullptr;
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld.get());
  if (params == nullptr) return nullptr;
  auto key = from_params("RSA", params);
  OSSL_PARAM_free(params);
  return key;
}

UniquePtr<EVP_PKEY> ec_key(const X509_ALGOR* alg, const ASN1_BIT_STRING* point) {
  int ptype = 0;
  const void* pval = nullptr;
  X509_ALGOR_get0(nullptr, &ptype, &pval, alg);
  if (ptype != V_ASN1_OBJECT) return nullptr;  // explicit parameters: not here
  const char* group = OSSL_EC_curve_nid2name(OBJ_obj2nid(static_cast<const ASN1_OBJECT*>(pval)));
  if (group == nullptr) return nullptr;
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(group), 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                        const_cast<unsigned char*>(ASN1_STRING_get0_data(point)),
                                        static_cast<size_t>(ASN1_STRING_length(point))),
      OSSL_PARAM_construct_end(),
  };
  return from_params("EC", params);
}

// SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }
UniquePtr<EVP_PKEY> spki_key(const std::vector<unsigned char>& der, const char*& type) {
  const unsigned char* p = der.data();
  const long total = static_cast<long>(der.size());
  long seq_len = 0;
  int tag = 0, cls = 0;
  const int rc = ASN1_get_object(&p, &seq_len, &tag, &cls, total);
  if ((rc & 0x80) != 0 || (rc & V_ASN1_CONSTRUCTED) == 0 || tag != V_ASN1_SEQUENCE ||
      cls != V_ASN1_UNIVERSAL || p + seq_len != der.data() + total)
    return nullptr;
  const unsigned char* end = p + seq_len;
  std::unique_ptr<X509_ALGOR, decltype(&X509_ALGOR_free)> alg(d2i_X509_ALGOR(nullptr, &p, end - p),
                                                              &X509_ALGOR_free);
  if (!alg) return nullptr;
  UniquePtr<ASN1_STRING> bits(d2i_ASN1_BIT_STRING(nullptr, &p, end - p));
  if (!bits || p != end) return nullptr;
  const ASN1_OBJECT* oid = nullptr;
  X509_ALGOR_get0(&oid, nullptr, nullptr, alg.get());
  switch (OBJ_obj2nid(oid)) {
    case NID_rsaEncryption:
      type = "RSA";
      return rsa_key(ASN1_STRING_get0_data(bits.get()), ASN1_STRING_length(bits.get()));
    case NID_X9_62_id_ecPublicKey:
      type = "EC";
      return ec_key(alg.get(), bits.get());
    default:
      return nullptr;
  }
}

void* decoder_newctx(void* provctx) {
  return provctx;
}
void decoder_freectx(void*) {}

int decoder_decode(void*, OSSL_CORE_BIO* in, int, OSSL_CALLBACK* data_cb, void* data_cbarg,
                   OSSL_PASSPHRASE_CALLBACK*, void*) {
  std::vector<unsigned char> der;
  if (!read_all(in, der)) return 0;
  const char* type = nullptr;
  UniquePtr<EVP_PKEY> decoded = spki_key(der, type);
  ERR_clear_error();
  // Empty-handed is not an error: the caller sees no key and parses in full.
  if (!decoded) return 1;
  EVP_PKEY* key = decoded.release();
  int object_type = OSSL_OBJECT_PKEY;
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &object_type),
      OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE, const_cast<char*>(type), 0),
      OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_REFERENCE, &key, sizeof key),
      OSSL_PARAM_construct_end(),
  };
  const int ok = data_cb(params, data_cbarg);
  EVP_PKEY_free(key);  // null if the key manager took it
  return ok;
}

const OSSL_DISPATCH decoder_functions[] = {
    {OSSL_FUNC_DECODER_NEWCTX, CERTWATCH_FN(decoder_newctx)},
    {OSSL_FUNC_DECODER_FREECTX, CERTWATCH_FN(decoder_freectx)},
    {OSSL_FUNC_DECODER_DECODE, CERTWATCH_FN(decoder_decode)},
    {0, nullptr},
};

// ---- The provider ------------------------------------------------------------------------

// The names are the default provider's, so that lookups by OID name find them.
const OSSL_ALGORITHM digests[] = {
    {"SHA1:SHA-1:SSL3-SHA1:1.3.14.3.2.26", "provider=certwatch-leaf-parse", sha1_functions,
     nullptr},
    {nullptr, nullptr, nullptr, nullptr},
};
const OSSL_ALGORITHM keymgmts[] = {
    {"RSA:rsaEncryption:1.2.840.113549.1.1.1", "provider=certwatch-leaf-parse", keymgmt_functions,
     nullptr},
    {"EC:id-ecPublicKey:1.2.840.10045.2.1", "provider=certwatch-leaf-parse", keymgmt_functions,
     nullptr},
    {nullptr, nullptr, nullptr, nullptr},
};
const OSSL_ALGORITHM decoders[] = {
    {"RSA:rsaEncryption:1.2.840.113549.1.1.1",
     "provider=certwatch-leaf-parse,input=der,structure=SubjectPublicKeyInfo", decoder_functions,
     nullptr},
    {"EC:id-ecPublicKey:1.2.840.10045.2.1",
     "provider=certwatch-leaf-parse,input=der,structure=SubjectPublicKeyInfo", decoder_functions,
     nullptr},
    {nullptr, nullptr, nullptr, nullptr},
};

const OSSL_ALGORITHM* query_operation(void*, int operation, int* no_cache) {
  *no_cache = 0;
  switch (operation) {
    case OSSL_OP_DIGEST:
      return digests;
    case OSSL_OP_KEYMGMT:
      return keymgmts;
    case OSSL_OP_DECODER:
      return decoders;
    default:
      return nullptr;
  }
}

const OSSL_DISPATCH provider_functions[] = {
    {OSSL_FUNC_PROVIDER_QUERY_OPERATION, CERTWATCH_FN(query_operation)},
    {0, nullptr},
};

int provider_init(const OSSL_CORE_HANDLE*, const OSSL_DISPATCH* in, const OSSL_DISPATCH** out,
                  void** provctx) {
  for (; in != nullptr && in->function_id != 0; ++in) {
    if (in->function_id == OSSL_FUNC_BIO_READ_EX) core_bio_read_ex = OSSL_FUNC_BIO_read_ex(in);
  }
  if (core_bio_read_ex == nullptr || default_sha1 == nullptr) return 0;
  *out = provider_functions;
  static int context_tag = 0;  // decoders need a non-null context to hand back
  *provctx = &context_tag;
  return 1;
}

}  // namespace

OSSL_LIB_CTX* leaf_parse_context() {
  static OSSL_LIB_CTX* const ctx = [] {
    default_sha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
    OSSL_LIB_CTX* c = OSSL_LIB_CTX_new();
    if (c == nullptr || default_sha1 == nullptr ||
        OSSL_PROVIDER_add_builtin(c, kProviderName, provider_init) != 1 ||
        OSSL_PROVIDER_load(c, kProviderName) == nullptr) {
      OSSL_LIB_CTX_free(c);
      c = nullptr;
    }
    ERR_clear_error();
    return c;
  }();
  return ctx;
}

}  // namespace certwatch::pki
