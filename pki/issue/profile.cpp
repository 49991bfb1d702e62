#include "pki/issue/profile.h"

#include <openssl/x509v3.h>

#include <string>

#include "pki/x509/dn.h"
#include "pki/x509/keygen.h"

namespace certwatch::pki {
namespace {

// Adds one extension written in OpenSSL's config syntax. Only fixed strings from this file go
// through here; user input (SANs) is encoded structurally below, never as config text.
Result<void> add_conf_ext(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  UniquePtr<X509_EXTENSION> ext(X509V3_EXT_nconf_nid(nullptr, ctx, nid, value.c_str()));
  if (!ext)
    return make_error(std::string("cannot build ") + OBJ_nid2sn(nid) + ": " + drain_errors());
  if (X509_add_ext(cert, ext.get(), -1) != 1)
    return make_error(std::string("cannot add ") + OBJ_nid2sn(nid) + ": " + drain_errors());
  return {};
}

Result<void> add_sans(X509* cert, const std::vector<SubjectAltName>& sans) {
  auto names = general_names_of(sans);
  if (!names) return names.error();
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names->get(), 0, X509V3_ADD_DEFAULT) != 1)
    return make_error("cannot add subjectAltName: " + drain_errors());
  return {};
}

}  // namespace

Result<UniquePtr<GENERAL_NAMES>> general_names_of(const std::vector<SubjectAltName>& sans) {
  UniquePtr<GENERAL_NAMES> names(GENERAL_NAMES_new());
  if (!names) return make_error("out of memory");
  for (const auto& san : sans) {
    GENERAL_NAME* gn = nullptr;
    if (san.type == SubjectAltName::Type::ip) {
      UniquePtr<ASN1_STRING> ip(a2i_IPADDRESS(san.value.c_str()));
      if (!ip) return make_error("cannot encode IP " + san.value);
      gn = GENERAL_NAME_new();
      if (gn == nullptr) return make_error("out of memory");
      GENERAL_NAME_set0_value(gn, GEN_IPADD, ip.release());
    } else {
      int type = GEN_DNS;
      if (san.type == SubjectAltName::Type::email) type = GEN_EMAIL;
      if (san.type == SubjectAltName::Type::uri) type = GEN_URI;
      if (san.type == SubjectAltName::Type::other) return make_error("unsupported SAN type");
      UniquePtr<ASN1_STRING> s(ASN1_IA5STRING_new());
      if (!s || ASN1_STRING_set(s.get(), san.value.data(), static_cast<int>(san.value.size())) != 1)
        return make_error("out of memory");
      gn = GENERAL_NAME_new();
      if (gn == nullptr) return make_error("out of memory");
      GENERAL_NAME_set0_value(gn, type, s.release());
    }
    if (sk_GENERAL_NAME_push(names.get(), gn) == 0) {
      GENERAL_NAME_free(gn);
      return make_error("out of memory");
    }
  }
  return names;
}

Result<Profile> parse_profile(std::string_view name) {
  if (name == "root") return Profile::root;
  if (name == "intermediate") return Profile::intermediate;
  if (name == "server") return Profile::server;
  if (name == "client") return Profile::client;
  return make_error("unknown profile '" + std::string(name) + "' (server or client)");
}

std::string_view to_string(Profile profile) {
  switch (profile) {
    case Profile::root:
      return "root";
    case Profile::intermediate:
      return "intermediate";
    case Profile::server:
      return "server";
    case Profile::client:
      return "client";
  }
  return "unknown";
}

bool is_ca_profile(Profile profile) {
  return profile == Profile::root || profile == Profile::intermediate;
}

Result<void> check_profile(const ProfileParams& params) {
  if (params.path_len && params.profile != Profile::intermediate)
    return make_error("a path length applies to intermediate CAs only");
  if (params.path_len && *params.path_len < 0)
    return make_error("path length must not be negative");
  if (is_ca_profile(params.profile) && !params.sans.empty())
    return make_error("CA certificates carry no subjectAltName");
  if (params.profile == Profile::server && params.sans.empty())
    return make_error(
        "the server profile needs at least one SAN (DNS:name or IP:address): "
        "clients match the host against SANs only (RFC 9525)",
        ErrorKind::invalid_input, "", "san");
  for (const auto& san : params.sans) {
    auto ok = validate_san(san);
    if (!ok) return make_error("SAN " + to_string(san) + ": " + ok.error().message);
  }
  return {};
}

Result<void> add_profile_extensions(X509* cert, X509* issuer, const ProfileParams& params) {
  auto ok = check_profile(params);
  if (!ok) return ok;
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer != nullptr ? issuer : cert, cert, nullptr, nullptr, 0);

  const bool rsa_leaf = [&] {
    const EVP_PKEY* pub = X509_get0_pubkey(cert);
    return pub != nullptr && EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA;
  }();

  Result<void> r;
  switch (params.profile) {
    case Profile::root:
      if (!(r = add_conf_ext(cert, &ctx, NID_basic_constraints, "critical,CA:TRUE"))) return r;
      if (!(r = add_conf_ext(cert, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign"))) return r;
      if (!(r = add_conf_ext(cert, &ctx, NID_subject_key_identifier, "hash"))) return r;
      return {};
    case Profile::intermediate:
      if (!(r = add_conf_ext(
                cert, &ctx, NID_basic_constraints,
                "critical,CA:TRUE,pathlen:" + std::to_string(params.path_len.value_or(0)))))
        return r;
      if (!(r = add_conf_ext(cert, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign"))) return r;
      break;
    case Profile::server:
    case Profile::client:
      if (!(r = add_conf_ext(cert, &ctx, NID_basic_constraints, "CA:FALSE"))) return r;
      if (!(r = add_conf_ext(cert, &ctx, NID_key_usage,
                             rsa_leaf ? "critical,digitalSignature,keyEncipherment"
                                      : "critical,digitalSignature")))
        return r;
      if (!(r = add_conf_ext(cert, &ctx, NID_ext_key_usage,
                             params.profile == Profile::server ? "serverAuth" : "clientAuth")))
        return r;
      if (!params.sans.empty())
        if (!(r = add_sans(cert, params.sans))) return r;
      break;
  }
  if (!(r = add_conf_ext(cert, &ctx, NID_subject_key_identifier, "hash"))) return r;
  if (issuer == nullptr) return make_error("a non-root profile needs an issuer certificate");
  return add_conf_ext(cert, &ctx, NID_authority_key_identifier, "keyid:always");
}

const EVP_MD* signing_digest(const EVP_PKEY* signer) {
  auto type = key_type_of(signer);
  if (type.ok() && *type == KeyType::ed25519) return nullptr;
  if (type.ok() && *type == KeyType::ec_p384) return EVP_sha384();
  return EVP_sha256();
}

}  // namespace certwatch::pki
