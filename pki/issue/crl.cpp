#include "pki/issue/crl.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <array>

#include "pki/issue/profile.h"

namespace certwatch::pki {
namespace {

struct ReasonName {
  std::string_view name;
  int code;
};
constexpr std::array<ReasonName, 9> kReasons{{
    {"unspecified", CRL_REASON_UNSPECIFIED},
    {"keyCompromise", CRL_REASON_KEY_COMPROMISE},
    {"cACompromise", CRL_REASON_CA_COMPROMISE},
    {"affiliationChanged", CRL_REASON_AFFILIATION_CHANGED},
    {"superseded", CRL_REASON_SUPERSEDED},
    {"cessationOfOperation", CRL_REASON_CESSATION_OF_OPERATION},
    {"certificateHold", CRL_REASON_CERTIFICATE_HOLD},
    {"privilegeWithdrawn", CRL_REASON_PRIVILEGE_WITHDRAWN},
    {"aACompromise", CRL_REASON_AA_COMPROMISE},
}};

Result<UniquePtr<ASN1_STRING>> serial_from_hex(const std::string& hex) {
  BIGNUM* bn = nullptr;
  if (BN_hex2bn(&bn, hex.c_str()) == 0) return make_error("bad serial " + hex);
  UniquePtr<BIGNUM> owned(bn);
  UniquePtr<ASN1_STRING> serial(BN_to_ASN1_INTEGER(bn, nullptr));
  if (!serial) return make_error("bad serial " + hex);
  return serial;
}

}  // namespace

Result<int> parse_crl_reason(std::string_view name) {
  for (const auto& r : kReasons)
    if (r.name == name) return r.code;
  return make_error("unknown revocation reason '" + std::string(name) +
                    "' (unspecified, keyCompromise, cACompromise, affiliationChanged, superseded, "
                    "cessationOfOperation, certificateHold, privilegeWithdrawn, aACompromise)");
}

Result<std::string> make_crl(const Certificate& ca, EVP_PKEY* ca_key,
                             const std::vector<RevokedCert>& revoked, const CrlParams& params) {
  UniquePtr<X509_CRL> crl(X509_CRL_new());
  if (!crl) return make_error("out of memory");
  UniquePtr<ASN1_STRING> last(ASN1_TIME_set(nullptr, static_cast<time_t>(params.this_update)));
  UniquePtr<ASN1_STRING> next(ASN1_TIME_set(nullptr, static_cast<time_t>(params.next_update)));
  if (X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca.native())) != 1 || !last ||
      !next || X509_CRL_set1_lastUpdate(crl.get(), last.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), next.get()) != 1)
    return make_error("cannot build CRL: " + drain_errors());

  for (const auto& r : revoked) {
    auto code = parse_crl_reason(r.reason.empty() ? "unspecified" : r.reason);
    if (!code) return code.error();
    auto serial = serial_from_hex(r.serial_hex);
    if (!serial) return serial.error();
    X509_REVOKED* rev = X509_REVOKED_new();
    if (rev == nullptr) return make_error("out of memory");
    UniquePtr<ASN1_STRING> when(ASN1_TIME_set(nullptr, static_cast<time_t>(r.revoked_at)));
    bool ok = when && X509_REVOKED_set_serialNumber(rev, serial->get()) == 1 &&
              X509_REVOKED_set_revocationDate(rev, when.get()) == 1;
    if (ok && *code != CRL_REASON_UNSPECIFIED) {
      UniquePtr<ASN1_STRING> e(ASN1_ENUMERATED_new());
      ok = e && ASN1_ENUMERATED_set(e.get(), *code) == 1 &&
           X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, e.get(), 0, 0) == 1;
    }
    if (!ok || X509_CRL_add0_revoked(crl.get(), rev) != 1) {
      X509_REVOKED_free(rev);
      return make_error("cannot add revoked serial " + r.serial_hex + ": " + drain_errors());
    }
  }

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, ca.native(), nullptr, nullptr, crl.get(), 0);
  UniquePtr<X509_EXTENSION> aki(
      X509V3_EXT_nconf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid"));
  if (!aki || X509_CRL_add_ext(crl.get(), aki.get(), -1) != 1)
    return make_error("cannot add AKI to CRL: " + drain_errors());
  UniquePtr<ASN1_STRING> number(ASN1_INTEGER_new());
  if (!number || ASN1_INTEGER_set_int64(number.get(), params.number) != 1 ||
      X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, 0) != 1)
    return make_error("cannot add CRL number: " + drain_errors());

  X509_CRL_sort(crl.get());
  if (X509_CRL_sign(crl.get(), ca_key, signing_digest(ca_key)) <= 0)
    return make_error("cannot sign CRL: " + drain_errors());
  UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_CRL(bio.get(), crl.get()) != 1)
    return make_error("cannot encode CRL: " + drain_errors());
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

}  // namespace certwatch::pki
