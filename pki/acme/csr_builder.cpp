#include "pki/acme/csr_builder.h"

#include <openssl/x509v3.h>

#include <memory>

#include "pki/issue/profile.h"
#include "pki/x509/certificate.h"

namespace certwatch::pki {
namespace {

constexpr size_t kMaxCnLength = 64;  // ub-common-name (RFC 5280)

struct ExtensionStackDeleter {
  void operator()(STACK_OF(X509_EXTENSION) * s) const noexcept {
    sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
  }
};
using X509Extensions = std::unique_ptr<STACK_OF(X509_EXTENSION), ExtensionStackDeleter>;

// An identifier as a SAN: an IP literal when OpenSSL parses it as one, else a DNS name.
SubjectAltName san_of(const std::string& identifier) {
  UniquePtr<ASN1_STRING> ip(a2i_IPADDRESS(identifier.c_str()));
  if (ip) return SubjectAltName{SubjectAltName::Type::ip, identifier};
  return SubjectAltName{SubjectAltName::Type::dns, identifier};
}

}  // namespace

Result<std::string> build_csr_der(const EVP_PKEY* key,
                                  const std::vector<std::string>& identifiers) {
  if (identifiers.empty())
    return make_error("a CSR needs at least one identifier", ErrorKind::invalid_input);
  std::vector<SubjectAltName> sans;
  for (const auto& id : identifiers) {
    if (id.empty() || id.find_first_of(" \t\r\n,") != std::string::npos)
      return make_error("identifier '" + id + "' is not a DNS name or IP address",
                        ErrorKind::invalid_input);
    sans.push_back(san_of(id));
  }
  UniquePtr<X509_REQ> req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), 0) != 1 ||
      X509_REQ_set_pubkey(req.get(), const_cast<EVP_PKEY*>(key)) != 1)
    return make_error("cannot build the CSR: " + drain_errors(), ErrorKind::crypto);
  for (const auto& san : sans) {
    if (san.type != SubjectAltName::Type::dns || san.value.size() > kMaxCnLength) continue;
    if (X509_NAME_add_entry_by_NID(
            X509_REQ_get_subject_name(req.get()), NID_commonName, MBSTRING_UTF8,
            reinterpret_cast<const unsigned char*>(san.value.c_str()), -1, -1, 0) != 1)
      return make_error("cannot set the CSR's CN: " + drain_errors(), ErrorKind::crypto);
    break;
  }
  auto names = general_names_of(sans);
  if (!names) return names.error();
  UniquePtr<X509_EXTENSION> ext(X509V3_EXT_i2d(NID_subject_alt_name, 0, names->get()));
  X509Extensions exts(sk_X509_EXTENSION_new_null());
  if (!ext || !exts || sk_X509_EXTENSION_push(exts.get(), ext.get()) == 0)
    return make_error("cannot build the CSR's subjectAltName: " + drain_errors(),
                      ErrorKind::crypto);
  ext.release();  // owned by the stack now
  if (X509_REQ_add_extensions(req.get(), exts.get()) != 1)
    return make_error("cannot add the CSR's extensions: " + drain_errors(), ErrorKind::crypto);
  if (X509_REQ_sign(req.get(), const_cast<EVP_PKEY*>(key), signing_digest(key)) <= 0)
    return make_error("cannot sign the CSR: " + drain_errors(), ErrorKind::crypto);
  const int len = i2d_X509_REQ(req.get(), nullptr);
  if (len <= 0) return make_error("cannot encode the CSR: " + drain_errors(), ErrorKind::crypto);
  std::string der(static_cast<size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_X509_REQ(req.get(), &p);
  return der;
}

}  // namespace certwatch::pki
