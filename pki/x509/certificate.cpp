// pki::Certificate (certificate.h): identity, names, validity, SANs, extensions, public key and
// encodings. Over 400 lines because every accessor of the one X509 wrapper lives here beside
// the lazily decoded state they share (State, the deferred key decode); the SAN decoder is
// shared with the CSR reader (pki/issue/csr.cpp).
#include "pki/x509/certificate.h"

#include <arpa/inet.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include <array>
#include <cstring>
#include <unordered_map>

#include "pki/x509/parse_context.h"

namespace certwatch::pki {
namespace {

std::string name_to_string(const X509_NAME* name) {
  UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0)
    return {};
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string last_cn(const X509_NAME* name) {
  int idx = -1, last = -1;
  while ((idx = X509_NAME_get_index_by_NID(name, NID_commonName, idx)) >= 0) last = idx;
  if (last < 0) return {};
  const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, last));
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, s);
  if (len < 0) return {};
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

std::string hex(const unsigned char* p, size_t n, bool upper) {
  static constexpr char lo[] = "0123456789abcdef", up[] = "0123456789ABCDEF";
  const char* d = upper ? up : lo;
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(d[p[i] >> 4]);
    out.push_back(d[p[i] & 0xf]);
  }
  return out;
}

}  // namespace

std::string drain_errors() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    std::array<char, 256> buf{};
    ERR_error_string_n(e, buf.data(), buf.size());
    if (!out.empty()) out += "; ";
    out += buf.data();
  }
  return out;
}

std::string to_string(const SubjectAltName& san) {
  switch (san.type) {
    case SubjectAltName::Type::dns:
      return "DNS:" + san.value;
    case SubjectAltName::Type::ip:
      return "IP:" + san.value;
    case SubjectAltName::Type::email:
      return "email:" + san.value;
    case SubjectAltName::Type::uri:
      return "URI:" + san.value;
    case SubjectAltName::Type::other:
      return "othername:" + san.value;
  }
  return san.value;
}

std::string join_sans(const std::vector<std::string>& sans) {
  std::string out;
  for (const auto& s : sans) {
    if (!out.empty()) out += ',';
    out += s;
  }
  return out;
}

int64_t to_unix(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

// Deferred keys: the loader parses end-entity certificates in leaf_parse_context() (see
// pki/x509/parse_context.h for why and how). What such an X509 differs in, and how this class
// makes up for it:
//  - its key is a wrapper that only answers size queries: public_key_object() decodes the
//    key again in the default context on first use, and public_key() reads RSA and
//    named-curve EC parameters from the encoding;
//  - X509_verify of it works as usual: the signature operation comes from the issuer key's
//    provider;
//  - our SHA-256 is taken from the encoding in the default context.
// OpenSSL's path building uses the key of an issuer candidate, and of a self-issued
// certificate when it decides "self-signed": CA and self-issued certificates are therefore
// always parsed in full, the loader parses in full any certificate that another one of the
// same input names as its issuer, and TrustIndex holds full parses only.
namespace {

const EVP_MD* sha256_md() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

// Sizes of a named curve, from OpenSSL's own group (cached: a group costs more to build
// than the rest of a certificate's parse).
struct CurveSize {
  int order_bits = 0;   // what EVP_PKEY_get_bits reports for a key on the curve
  int field_bytes = 0;  // length of one coordinate in a point encoding
};

CurveSize curve_size(int nid) {
  static std::mutex mutex;
  static std::unordered_map<int, CurveSize> sizes;
  std::lock_guard lock(mutex);
  if (auto it = sizes.find(nid); it != sizes.end()) return it->second;
  CurveSize size;
  if (EC_GROUP* g = EC_GROUP_new_by_curve_name(nid); g != nullptr) {
    size.order_bits = EC_GROUP_order_bits(g);
    size.field_bytes = (EC_GROUP_get_degree(g) + 7) / 8;
    EC_GROUP_free(g);
  }
  ERR_clear_error();
  sizes.emplace(nid, size);
  return size;
}

}  // namespace

Certificate::Certificate(UniquePtr<X509> x) : Certificate(std::move(x), false) {}

Certificate::Certificate(UniquePtr<X509> x, bool deferred) : state_(std::make_shared<State>()) {
  state_->x = std::move(x);
  state_->deferred = deferred;
  unsigned char* der = nullptr;
  const int len = i2d_X509(native(), &der);
  unsigned int n = 0;
  if (len <= 0 || sha256_md() == nullptr ||
      EVP_Digest(der, static_cast<size_t>(len), sha256_.data(), &n, sha256_md(), nullptr) != 1 ||
      n != sha256_.size()) {
    sha256_.fill(0);
    ERR_clear_error();
  }
  OPENSSL_free(der);
}

Result<Certificate> Certificate::from_pem(std::string_view pem) {
  UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return make_error("out of memory");
  UniquePtr<X509> x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!x) return make_error("not a PEM certificate: " + drain_errors());
  return Certificate(std::move(x));
}

Result<Certificate> Certificate::from_der(std::span<const unsigned char> der) {
  const unsigned char* p = der.data();
  UniquePtr<X509> x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!x) return make_error("not a DER certificate: " + drain_errors());
  return Certificate(std::move(x));
}

Result<Certificate> Certificate::from_der_deferred_key(std::span<const unsigned char> der,
                                                       size_t* consumed) {
  const long len = static_cast<long>(der.size());
  if (OSSL_LIB_CTX* ctx = leaf_parse_context(); ctx != nullptr) {
    X509* raw = X509_new_ex(ctx, nullptr);
    const unsigned char* p = der.data();
    // d2i into an existing object caches the extensions at once, and answers null for a
    // certificate OpenSSL finds invalid (raw then still holds the object, or is null).
    if (raw != nullptr && d2i_X509(&raw, &p, len) != nullptr) {
      UniquePtr<X509> x(raw);
      const uint32_t flags = X509_get_extension_flags(x.get());
      // No key means the parse context could not decode it (another algorithm, explicit
      // curve parameters, a malformed key): the full parse decides what it is.
      if ((flags & (EXFLAG_CA | EXFLAG_SI)) == 0 && X509_get0_pubkey(x.get()) != nullptr) {
        if (consumed != nullptr) *consumed = static_cast<size_t>(p - der.data());
        return Certificate(std::move(x), true);
      }
    } else {
      X509_free(raw);
    }
    ERR_clear_error();
  }
  // In full: CAs, self-issued certificates, and whatever the leaf parse refused (the
  // error and the object are then exactly d2i_X509's).
  const unsigned char* p = der.data();
  UniquePtr<X509> x(d2i_X509(nullptr, &p, len));
  if (!x) return make_error(drain_errors());
  if (consumed != nullptr) *consumed = static_cast<size_t>(p - der.data());
  return Certificate(std::move(x));
}

EVP_PKEY* Certificate::public_key_object() const {
  if (!state_->deferred) return X509_get0_pubkey(native());
  std::call_once(state_->key_once, [this] {
    unsigned char* der = nullptr;
    const int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(native()), &der);
    if (len > 0) {
      const unsigned char* p = der;
      state_->key.reset(d2i_PUBKEY(nullptr, &p, len));
    }
    OPENSSL_free(der);
    ERR_clear_error();  // an undecodable key is an answer (nullptr), as in d2i_X509
  });
  return state_->key.get();
}

Certificate Certificate::with_key_decoded() const {
  if (!state_->deferred) return *this;
  unsigned char* der = nullptr;
  const int len = i2d_X509(native(), &der);
  UniquePtr<X509> x;
  if (len > 0) {
    const unsigned char* p = der;
    x.reset(d2i_X509(nullptr, &p, len));
  }
  OPENSSL_free(der);
  if (!x) {  // bytes OpenSSL has just parsed; only memory can be short here
    ERR_clear_error();
    return *this;
  }
  return Certificate(std::move(x));
}

std::string Certificate::subject() const {
  return name_to_string(X509_get_subject_name(native()));
}
std::string Certificate::issuer() const {
  return name_to_string(X509_get_issuer_name(native()));
}
std::string Certificate::subject_cn() const {
  return last_cn(X509_get_subject_name(native()));
}
std::string Certificate::issuer_cn() const {
  return last_cn(X509_get_issuer_name(native()));
}

std::string Certificate::serial_hex() const {
  const ASN1_INTEGER* serial = X509_get0_serialNumber(native());
  UniquePtr<BIGNUM> bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (!bn) return {};
  char* h = BN_bn2hex(bn.get());
  if (h == nullptr) return {};
  std::string out(h);
  OPENSSL_free(h);
  return out;
}

std::string Certificate::sha256_hex() const {
  if (sha256_ == Sha256{}) return {};
  return hex(sha256_.data(), sha256_.size(), false);
}

std::string Certificate::spki_sha256_hex() const {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_pubkey_digest(native(), EVP_sha256(), md, &n) != 1) return {};
  return hex(md, n, false);
}

Validity Certificate::validity() const {
  return Validity{to_unix(X509_get0_notBefore(native())), to_unix(X509_get0_notAfter(native()))};
}

int Certificate::version() const {
  return static_cast<int>(X509_get_version(native())) + 1;
}

DecodedSan decode_general_name(const GENERAL_NAME& name) {
  const GENERAL_NAME* gn = &name;
  DecodedSan out;
  SubjectAltName& san = out.san;
  switch (gn->type) {
    case GEN_DNS:
    case GEN_EMAIL:
    case GEN_URI: {
      const ASN1_IA5STRING* s = gn->d.ia5;
      san.type = gn->type == GEN_DNS     ? SubjectAltName::Type::dns
                 : gn->type == GEN_EMAIL ? SubjectAltName::Type::email
                                         : SubjectAltName::Type::uri;
      san.value.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                       static_cast<size_t>(ASN1_STRING_length(s)));
      break;
    }
    case GEN_IPADD: {
      san.type = SubjectAltName::Type::ip;
      const ASN1_OCTET_STRING* ip = gn->d.iPAddress;
      const int len = ASN1_STRING_length(ip);
      char buf[INET6_ADDRSTRLEN] = {};
      if ((len == 4 || len == 16) &&
          inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(ip), buf, sizeof buf) !=
              nullptr) {
        san.value = buf;
      } else {
        san.value = "<invalid " + std::to_string(len) + "-byte address>";
        out.ip_ok = false;
      }
      break;
    }
    default:
      san.type = SubjectAltName::Type::other;
      break;
  }
  return out;
}

std::vector<SubjectAltName> Certificate::sans() const {
  std::vector<SubjectAltName> out;
  UniquePtr<GENERAL_NAMES> names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(native(), NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i)
    out.push_back(decode_general_name(*sk_GENERAL_NAME_value(names.get(), i)).san);
  return out;
}

}  // namespace certwatch::pki

namespace certwatch::pki {

bool Certificate::has_basic_constraints() const {
  return X509_get_ext_by_NID(native(), NID_basic_constraints, -1) >= 0;
}

bool Certificate::basic_constraints_critical() const {
  int idx = X509_get_ext_by_NID(native(), NID_basic_constraints, -1);
  return idx >= 0 && X509_EXTENSION_get_critical(X509_get_ext(native(), idx)) == 1;
}

bool Certificate::is_ca() const {
  UniquePtr<BASIC_CONSTRAINTS> bc(static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(native(), NID_basic_constraints, nullptr, nullptr)));
  return bc && bc->ca != 0;
}

std::optional<long> Certificate::path_len() const {
  UniquePtr<BASIC_CONSTRAINTS> bc(static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(native(), NID_basic_constraints, nullptr, nullptr)));
  if (!bc || bc->ca == 0 || bc->pathlen == nullptr) return std::nullopt;
  return ASN1_INTEGER_get(bc->pathlen);
}

KeyUsage Certificate::key_usage() const {
  KeyUsage ku;
  int idx = X509_get_ext_by_NID(native(), NID_key_usage, -1);
  if (idx < 0) return ku;
  ku.present = true;
  ku.critical = X509_EXTENSION_get_critical(X509_get_ext(native(), idx)) == 1;
  const uint32_t bits = X509_get_key_usage(native());
  ku.digital_signature = (bits & KU_DIGITAL_SIGNATURE) != 0;
  ku.non_repudiation = (bits & KU_NON_REPUDIATION) != 0;
  ku.key_encipherment = (bits & KU_KEY_ENCIPHERMENT) != 0;
  ku.data_encipherment = (bits & KU_DATA_ENCIPHERMENT) != 0;
  ku.key_agreement = (bits & KU_KEY_AGREEMENT) != 0;
  ku.key_cert_sign = (bits & KU_KEY_CERT_SIGN) != 0;
  ku.crl_sign = (bits & KU_CRL_SIGN) != 0;
  return ku;
}

bool Certificate::has_eku() const {
  return X509_get_ext_by_NID(native(), NID_ext_key_usage, -1) >= 0;
}

std::vector<std::string> Certificate::eku() const {
  std::vector<std::string> out;
  UniquePtr<EXTENDED_KEY_USAGE> eku(static_cast<EXTENDED_KEY_USAGE*>(
      X509_get_ext_d2i(native(), NID_ext_key_usage, nullptr, nullptr)));
  if (!eku) return out;
  for (int i = 0; i < sk_ASN1_OBJECT_num(eku.get()); ++i) {
    const ASN1_OBJECT* obj = sk_ASN1_OBJECT_value(eku.get(), i);
    int nid = OBJ_obj2nid(obj);
    if (nid != NID_undef) {
      out.emplace_back(OBJ_nid2sn(nid));
    } else {
      char buf[128];
      OBJ_obj2txt(buf, sizeof buf, obj, 1);
      out.emplace_back(buf);
    }
  }
  return out;
}

std::string Certificate::ski_hex() const {
  const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(native());
  if (ski == nullptr) return {};
  return hex(ASN1_STRING_get0_data(ski), static_cast<size_t>(ASN1_STRING_length(ski)), false);
}

std::string Certificate::aki_keyid_hex() const {
  const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(native());
  if (aki == nullptr) return {};
  return hex(ASN1_STRING_get0_data(aki), static_cast<size_t>(ASN1_STRING_length(aki)), false);
}

bool Certificate::self_issued() const {
  return X509_NAME_cmp(X509_get_subject_name(native()), X509_get_issuer_name(native())) == 0;
}

PublicKeyInfo public_key_info(const EVP_PKEY* key) {
  PublicKeyInfo info;
  if (key == nullptr) return info;
  info.bits = EVP_PKEY_get_bits(key);
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      info.type = "RSA";
      break;
    case EVP_PKEY_EC: {
      info.type = "EC";
      char curve[64] = {};
      size_t len = 0;
      if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, curve, sizeof curve,
                                         &len) == 1)
        info.curve.assign(curve, len);
      break;
    }
    case EVP_PKEY_ED25519:
      info.type = "ED25519";
      break;
    case EVP_PKEY_ED448:
      info.type = "ED448";
      break;
    default: {
      const char* name = EVP_PKEY_get0_type_name(key);
      info.type = name != nullptr ? name : "unknown";
    }
  }
  return info;
}

PublicKeyInfo Certificate::public_key() const {
  if (state_->deferred) {
    if (auto info = public_key_from_encoding()) return *info;
  }
  return public_key_info(public_key_object());
}

// For a deferred key: RSA and named-curve EC keys are described from their encoding, as the
// decoded key would describe itself. Anything else, or anything unusual about these two
// (explicit curve parameters, a point or a modulus that is not well-formed), is left to the
// decoder: nullopt.
std::optional<PublicKeyInfo> Certificate::public_key_from_encoding() const {
  ASN1_OBJECT* algorithm = nullptr;
  const unsigned char* bits = nullptr;
  int len = 0;
  X509_ALGOR* alg = nullptr;
  if (X509_PUBKEY_get0_param(&algorithm, &bits, &len, &alg, X509_get_X509_PUBKEY(native())) != 1 ||
      bits == nullptr || len <= 0)
    return std::nullopt;
  switch (OBJ_obj2nid(algorithm)) {
    case NID_rsaEncryption: {
      // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
      const unsigned char* p = bits;
      ASN1_SEQUENCE_ANY* seq = d2i_ASN1_SEQUENCE_ANY(nullptr, &p, len);
      std::optional<PublicKeyInfo> out;
      if (seq != nullptr && p == bits + len && sk_ASN1_TYPE_num(seq) == 2) {
        const ASN1_TYPE* n = sk_ASN1_TYPE_value(seq, 0);
        const ASN1_TYPE* e = sk_ASN1_TYPE_value(seq, 1);
        if (ASN1_TYPE_get(n) == V_ASN1_INTEGER && ASN1_TYPE_get(e) == V_ASN1_INTEGER) {
          UniquePtr<BIGNUM> modulus(ASN1_INTEGER_to_BN(n->value.integer, nullptr));
          if (modulus && !BN_is_zero(modulus.get()))
            out = PublicKeyInfo{"RSA", BN_num_bits(modulus.get()), {}};
        }
      }
      sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
      ERR_clear_error();
      return out;
    }
    case NID_X9_62_id_ecPublicKey: {
      int ptype = 0;
      const void* pval = nullptr;
      X509_ALGOR_get0(nullptr, &ptype, &pval, alg);
      if (ptype != V_ASN1_OBJECT) return std::nullopt;
      const int curve = OBJ_obj2nid(static_cast<const ASN1_OBJECT*>(pval));
      const char* name = OSSL_EC_curve_nid2name(curve);
      const CurveSize size = curve_size(curve);
      if (name == nullptr || size.order_bits == 0) return std::nullopt;
      const bool uncompressed = bits[0] == 0x04 && len == 1 + 2 * size.field_bytes;
      const bool compressed = (bits[0] == 0x02 || bits[0] == 0x03) && len == 1 + size.field_bytes;
      if (!uncompressed && !compressed) return std::nullopt;
      return PublicKeyInfo{"EC", size.order_bits, name};
    }
    default:
      return std::nullopt;
  }
}

std::string Certificate::key_description() const {
  return describe_public_key(public_key());
}

std::string describe_public_key(const PublicKeyInfo& info) {
  if (info.type == "RSA" || info.type == "DSA") return info.type + " " + std::to_string(info.bits);
  if (info.type == "EC") {
    if (info.curve.empty()) return "EC " + std::to_string(info.bits);
    const int nid = OBJ_sn2nid(info.curve.c_str());
    const char* nist = nid != NID_undef ? EC_curve_nid2nist(nid) : nullptr;
    return "EC " + (nist != nullptr ? std::string(nist) : info.curve);
  }
  return info.type.empty() ? "unknown" : info.type;
}

std::string Certificate::signature_algorithm() const {
  const int nid = X509_get_signature_nid(native());
  const char* ln = OBJ_nid2ln(nid);
  return ln != nullptr ? ln : "unknown";
}

std::vector<unsigned char> Certificate::der() const {
  unsigned char* buf = nullptr;
  int len = i2d_X509(native(), &buf);
  if (len <= 0) return {};
  std::vector<unsigned char> out(buf, buf + len);
  OPENSSL_free(buf);
  return out;
}

std::string Certificate::pem() const {
  UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), native()) != 1) return {};
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

bool Certificate::signed_by(const Certificate& issuer) const {
  if (X509_NAME_cmp(X509_get_issuer_name(native()), X509_get_subject_name(issuer.native())) != 0)
    return false;
  EVP_PKEY* key = issuer.public_key_object();
  if (key == nullptr) return false;
  const bool ok = X509_verify(native(), key) == 1;
  if (!ok) ERR_clear_error();  // a failed candidate is an answer, not an error
  return ok;
}

bool Certificate::same_as(const Certificate& other) const {
  return X509_cmp(native(), other.native()) == 0;
}

}  // namespace certwatch::pki
