#include "pki/issue/csr.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>

#include "pki/x509/dn.h"
#include "pki/x509/keygen.h"

namespace certwatch::pki {

Result<std::vector<SubjectAltName>> merge_sans(const std::vector<std::string>& given,
                                               const std::vector<SubjectAltName>& from_csr,
                                               std::vector<std::string>& warnings) {
  std::vector<SubjectAltName> out;
  auto add = [&](SubjectAltName san) {
    if (std::find(out.begin(), out.end(), san) != out.end()) {
      warnings.push_back("duplicate SAN " + to_string(san) + " written once");
      return;
    }
    out.push_back(std::move(san));
  };
  for (const auto& text : given) {
    auto san = parse_san(text);
    if (!san) return san.error();
    add(std::move(*san));
  }
  for (const auto& san : from_csr) {
    if (auto ok = validate_san(san); !ok)
      return make_error("CSR SAN " + to_string(san) + ": " + ok.error().message,
                        ErrorKind::invalid_input);
    add(san);
  }
  return out;
}

Result<CsrContent> read_csr(const std::string& data) {
  CsrContent out;
  UniquePtr<BIO> bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  if (!bio) return make_error("out of memory", ErrorKind::crypto);
  out.req.reset(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (!out.req) {
    const auto* p = reinterpret_cast<const unsigned char*>(data.data());
    out.req.reset(d2i_X509_REQ(nullptr, &p, static_cast<long>(data.size())));
  }
  if (!out.req) {
    drain_errors();
    return make_error("the CSR is neither a PEM nor a DER certificate request",
                      ErrorKind::invalid_input);
  }
  drain_errors();
  EVP_PKEY* pub = X509_REQ_get0_pubkey(out.req.get());
  if (pub == nullptr || X509_REQ_verify(out.req.get(), pub) != 1) {
    drain_errors();
    return make_error("the CSR's self-signature does not verify", ErrorKind::invalid_input);
  }
  if (auto kt = key_type_of(pub); !kt)
    return make_error("CSR key: " + kt.error().message, ErrorKind::invalid_input);

  STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(out.req.get());
  for (int i = 0; exts != nullptr && i < sk_X509_EXTENSION_num(exts); ++i) {
    X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts, i);
    const int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
    if (nid != NID_subject_alt_name) {
      out.ignored_extensions.push_back(nid != NID_undef ? OBJ_nid2sn(nid) : "unknown");
      continue;
    }
    auto* names = static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(ext));
    if (names == nullptr) {
      sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
      return make_error("the CSR's subjectAltName cannot be decoded", ErrorKind::invalid_input);
    }
    UniquePtr<GENERAL_NAMES> owned(names);
    for (int j = 0; j < sk_GENERAL_NAME_num(names); ++j) {
      DecodedSan d = decode_general_name(*sk_GENERAL_NAME_value(names, j));
      SubjectAltName& san = d.san;
      if (san.type == SubjectAltName::Type::dns || san.type == SubjectAltName::Type::email ||
          san.type == SubjectAltName::Type::uri) {
        if (san.value.find('\0') != std::string::npos) {
          sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
          return make_error("the CSR has a SAN with an embedded NUL", ErrorKind::invalid_input);
        }
        if (san.type == SubjectAltName::Type::dns)
          std::transform(san.value.begin(), san.value.end(), san.value.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      } else if (san.type == SubjectAltName::Type::ip) {
        if (!d.ip_ok) {
          sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
          return make_error("the CSR has a malformed IP SAN", ErrorKind::invalid_input);
        }
      } else {
        sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
        return make_error("the CSR has a SAN of an unsupported type (only DNS, IP, email, URI)",
                          ErrorKind::invalid_input);
      }
      out.sans.push_back(std::move(san));
    }
  }
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  return out;
}

}  // namespace certwatch::pki
