// Issuance: the validity window, the signing core and the three ways a certificate is made
// here (the root, an intermediate CA, a leaf). The CA store is in ca_store.cpp, CSRs in
// csr.cpp, the output transaction in output_set.cpp, revocation and CRLs in revocation.cpp.
#include "pki/issue/issuer.h"

#include <openssl/rand.h>

#include <algorithm>

#include "base/duration.h"
#include "pki/deploy/atomic_file.h"
#include "pki/issue/csr.h"
#include "pki/issue/issuer_internal.h"
#include "pki/x509/dn.h"

namespace certwatch::pki {

namespace fs = std::filesystem;

namespace {

struct Window {
  int64_t not_before = 0;
  int64_t not_after = 0;
};

// notBefore backdated by a minute (clock skew between issuer and relying parties); notAfter
// never beyond the issuer's.
Result<Window> validity_window(int64_t now, int64_t seconds, const Certificate* issuer,
                               BeyondIssuer policy, std::vector<std::string>& warnings) {
  if (seconds <= 0) return make_error("validity must be positive", ErrorKind::invalid_input);
  // RFC 5280 4.1.2.5: the latest notAfter a certificate can carry is 9999-12-31T23:59:59Z.
  constexpr int64_t kLatestNotAfter = 253402300799;
  if (seconds > kLatestNotAfter - now)
    return make_error(
        "validity ends after 9999-12-31T23:59:59Z, the latest date a certificate can carry",
        ErrorKind::invalid_input);
  Window w{now - kBackdateSeconds, now + seconds};
  if (issuer != nullptr) {
    const auto iv = issuer->validity();
    if (iv.not_after <= now)
      return make_error(
          "the issuing CA " + issuer->subject_cn() + " expired at " + format_iso8601(iv.not_after),
          ErrorKind::refused);
    if (w.not_after > iv.not_after) {
      if (policy == BeyondIssuer::refuse)
        return make_error("validity beyond the issuer: asked until " + format_iso8601(w.not_after) +
                              ", but the CA " + issuer->subject_cn() + " is valid until " +
                              format_iso8601(iv.not_after),
                          ErrorKind::refused, "", "validity");
      warnings.push_back("validity clamped to the issuer's notAfter " +
                         format_iso8601(iv.not_after) + " (asked until " +
                         format_iso8601(w.not_after) + ")");
      w.not_after = iv.not_after;
    }
    w.not_before = std::max(w.not_before, iv.not_before);
  }
  return w;
}

struct SignSpec {
  const X509_NAME* subject = nullptr;
  EVP_PKEY* public_key = nullptr;
  X509* issuer_cert = nullptr;  // null: self-signed
  const X509_NAME* issuer_name = nullptr;
  EVP_PKEY* signer = nullptr;
  Window window;
  ProfileParams profile;
};

void signed_by_ca(SignSpec& spec, const Certificate& ca, EVP_PKEY* ca_key) {
  spec.issuer_cert = ca.native();
  spec.issuer_name = X509_get_subject_name(ca.native());
  spec.signer = ca_key;
}

}  // namespace

// A new CA's key file: its PEM, or the URI of its key in a token.
void Issuer::add_key_file(OutputSet& files, const std::string& ca, MadeKey& key) const {
  if (key.key_uri.empty())
    files.add(ca_key_path(ca), std::move(key.file_bytes), kCaKeyMode);
  else
    files.add(ca_key_uri_path(ca), std::move(key.file_bytes), kKeyMode);
}

// After a forced replacement: the replaced CA's key of the other kind goes, so that the
// directory names one key (a URI file would otherwise win over a fresh PEM key).
void Issuer::remove_other_key_file(const std::string& ca, bool in_token) const {
  std::error_code ec;
  fs::remove(in_token ? ca_key_path(ca) : ca_key_uri_path(ca), ec);
}

namespace {

Result<Certificate> sign(const SignSpec& spec) {
  UniquePtr<X509> x(X509_new());
  if (!x) return make_error("out of memory", ErrorKind::crypto);
  auto serial = random_serial();
  if (!serial) return serial.error();
  UniquePtr<ASN1_STRING> nb(ASN1_TIME_set(nullptr, static_cast<time_t>(spec.window.not_before)));
  UniquePtr<ASN1_STRING> na(ASN1_TIME_set(nullptr, static_cast<time_t>(spec.window.not_after)));
  if (X509_set_version(x.get(), X509_VERSION_3) != 1 ||
      X509_set_serialNumber(x.get(), serial->get()) != 1 ||
      X509_set_subject_name(x.get(), spec.subject) != 1 ||
      X509_set_issuer_name(x.get(),
                           spec.issuer_name != nullptr ? spec.issuer_name : spec.subject) != 1 ||
      !nb || !na || X509_set1_notBefore(x.get(), nb.get()) != 1 ||
      X509_set1_notAfter(x.get(), na.get()) != 1 || X509_set_pubkey(x.get(), spec.public_key) != 1)
    return make_error("cannot build certificate: " + drain_errors(), ErrorKind::crypto);
  if (auto r = add_profile_extensions(x.get(), spec.issuer_cert, spec.profile); !r)
    return r.error();
  if (X509_sign(x.get(), spec.signer, signing_digest(spec.signer)) <= 0)
    return make_error("cannot sign certificate: " + drain_errors(), ErrorKind::crypto);
  return Certificate(std::move(x));
}

}  // namespace

Result<UniquePtr<ASN1_STRING>> random_serial() {
  unsigned char bytes[20];
  if (RAND_bytes(bytes, sizeof bytes) != 1)
    return make_error("no randomness: " + drain_errors(), ErrorKind::crypto);
  bytes[0] = static_cast<unsigned char>((bytes[0] & 0x3f) | 0x40);
  UniquePtr<BIGNUM> bn(BN_bin2bn(bytes, sizeof bytes, nullptr));
  UniquePtr<ASN1_STRING> serial(bn ? BN_to_ASN1_INTEGER(bn.get(), nullptr) : nullptr);
  if (!serial) return make_error("cannot encode serial: " + drain_errors(), ErrorKind::crypto);
  return serial;
}

Result<Issued> Issuer::init(const InitRequest& rq) {
  Outcome out;
  auto dn = parse_dn(rq.subject);
  if (!dn) return make_error("subject: " + dn.error().message, ErrorKind::invalid_input, "subject");
  auto name = to_x509_name(*dn);
  if (!name) return name.error();
  if (!rq.force && (fs::exists(ca_cert_path(kRootCaName)) || fs::exists(ca_key_path(kRootCaName)) ||
                    ca_key_in_token(kRootCaName)))
    return make_error("a root CA exists in " + dir_.string(), ErrorKind::exists);
  // A new root orphans every CA below the old one: their chains would still verify against
  // the old bundle only, and leaves issued from them would fail against the new one.
  std::string below;
  for (const auto& ca : ca_names())
    if (ca != kRootCaName) below += (below.empty() ? "" : ", ") + ca;
  if (!below.empty())
    return make_error("intermediate CAs exist in " + dir_.string() + " (" + below +
                          "): a new root would orphan them; use a new directory",
                      ErrorKind::refused);
  auto window =
      validity_window(rq.now, rq.validity_seconds, nullptr, BeyondIssuer::refuse, out.warnings);
  if (!window) return window.error();
  auto key = make_ca_key(rq.key_type, rq.new_key, rq.passphrase);
  if (!key) return key.error();
  auto pub = key->key.public_copy();  // the certificate keeps its own, not the token's key
  if (!pub) return pub.error();
  SignSpec spec;
  spec.subject = name->get();
  spec.public_key = pub->get();
  spec.signer = key->key.get();
  spec.window = *window;
  spec.profile.profile = Profile::root;
  auto cert = sign(spec);
  if (!cert) return cert.error();

  OutputSet files;
  add_key_file(files, kRootCaName, *key);
  files.add(ca_cert_path(kRootCaName), cert->pem(), kCertMode);
  files.add(bundle_path(), cert->pem(), kCertMode);
  if (auto r = files.check_absent(rq.force); !r) return r.error();
  if (auto r = make_directories(dir_, kDirMode); !r) return r.error();
  auto ledger = this->ledger();
  if (!ledger) return ledger.error();
  auto entry = entry_for(*cert, kRootCaName, kRootCaName, key->key_type, Profile::root, rq.now);
  entry.key_uri = key->key_uri;
  auto done = record_and_write(**ledger, entry, files, rq.force, out);
  if (!done) return done.error();
  remove_other_key_file(kRootCaName, key->key.in_token());
  cas_.erase(kRootCaName);
  return out.finish(*cert);
}

Result<Issued> Issuer::create_ca(const CaRequest& rq) {
  Outcome out;
  if (auto ok = require_pki_dir(); !ok) return ok.error();
  if (auto ok = check_file_name("CA name", rq.name); !ok) return ok.error();
  if (rq.name == kRootCaName)
    return make_error("'root-ca' is the root: create it with 'pki init'", ErrorKind::invalid_input);
  auto dn = parse_dn(rq.subject);
  if (!dn) return make_error("subject: " + dn.error().message, ErrorKind::invalid_input, "subject");
  auto name = to_x509_name(*dn);
  if (!name) return name.error();
  if (rq.path_len < 0)
    return make_error("path length must not be negative", ErrorKind::invalid_input, "path length");
  if (!rq.force && (fs::exists(ca_cert_path(rq.name)) || fs::exists(ca_key_path(rq.name)) ||
                    ca_key_in_token(rq.name)))
    return make_error("CA '" + rq.name + "' exists", ErrorKind::exists);
  auto parent = load_ca(rq.parent, rq.parent_passphrase);
  if (!parent) return parent.error();
  if (auto pl = (*parent)->cert.path_len(); pl && rq.path_len >= *pl)
    return make_error(
        "parent CA '" + rq.parent + "' has pathlen " + std::to_string(*pl) +
            (*pl == 0 ? std::string(": it signs leaves only")
                      : ": it may not sign a CA with pathlen " + std::to_string(rq.path_len)),
        ErrorKind::refused);
  auto window = validity_window(rq.now, rq.validity_seconds, &(*parent)->cert, rq.beyond_issuer,
                                out.warnings);
  if (!window) return window.error();
  auto key = make_ca_key(rq.key_type, rq.new_key, rq.passphrase);
  if (!key) return key.error();
  auto pub = key->key.public_copy();  // the certificate keeps its own, not the token's key
  if (!pub) return pub.error();
  SignSpec spec;
  spec.subject = name->get();
  spec.public_key = pub->get();
  signed_by_ca(spec, (*parent)->cert, (*parent)->key.get());
  spec.window = *window;
  spec.profile.profile = Profile::intermediate;
  spec.profile.path_len = rq.path_len;
  auto cert = sign(spec);
  if (!cert) return cert.error();
  std::vector<Certificate> chain{*cert};
  for (const auto& c : (*parent)->intermediates) chain.push_back(c);

  OutputSet files;
  add_key_file(files, rq.name, *key);
  files.add(ca_cert_path(rq.name), cert->pem(), kCertMode);
  files.add(ca_chain_path(rq.name), pem_of(chain), kCertMode);
  if (auto r = files.check_absent(rq.force); !r) return r.error();
  auto ledger = this->ledger();
  if (!ledger) return ledger.error();
  auto entry = entry_for(*cert, rq.parent, rq.name, key->key_type, Profile::intermediate, rq.now);
  entry.key_uri = key->key_uri;
  auto done = record_and_write(**ledger, entry, files, rq.force, out);
  if (!done) return done.error();
  remove_other_key_file(rq.name, key->key.in_token());
  cas_.erase(rq.name);
  return out.finish(*cert);
}

Result<Issued> Issuer::issue(const IssueRequest& rq) {
  Outcome out;
  if (auto ok = require_pki_dir(); !ok) return ok.error();
  if (rq.profile != Profile::server && rq.profile != Profile::client)
    return make_error(
        "pki issue signs server or client leaves; CAs come from 'pki init' and 'pki ca'",
        ErrorKind::invalid_input);
  if (auto ok = check_file_name("name", rq.name); !ok) return ok.error();

  std::optional<CsrContent> csr;
  if (rq.csr) {
    auto c = read_csr(*rq.csr);
    if (!c) return make_error("CSR: " + c.error().message, c.error().kind, "CSR");
    csr.emplace(std::move(*c));
    for (const auto& ext : csr->ignored_extensions)
      out.warnings.push_back("CSR extension " + ext + " ignored (only SANs are taken from a CSR)");
  }
  UniquePtr<X509_NAME> subject;
  if (!rq.subject.empty()) {
    auto dn = parse_dn(rq.subject);
    if (!dn)
      return make_error("subject: " + dn.error().message, ErrorKind::invalid_input, "subject");
    auto name = to_x509_name(*dn);
    if (!name) return name.error();
    subject = std::move(*name);
  } else if (csr && X509_NAME_entry_count(X509_REQ_get_subject_name(csr->req.get())) > 0) {
    subject.reset(X509_NAME_dup(X509_REQ_get_subject_name(csr->req.get())));
    if (!subject) return make_error("out of memory", ErrorKind::crypto);
  } else {
    return make_error("subject is required (e.g. /CN=" + rq.name + ")", ErrorKind::invalid_input,
                      "subject");
  }
  auto sans = merge_sans(rq.sans, csr ? csr->sans : std::vector<SubjectAltName>{}, out.warnings);
  if (!sans) return sans.error();
  ProfileParams params;
  params.profile = rq.profile;
  params.sans = std::move(*sans);
  if (auto ok = check_profile(params); !ok) return ok.error();

  const fs::path out_dir = rq.out_dir.empty() ? default_out_dir() : rq.out_dir;
  OutputSet files;
  const fs::path key_path = out_dir / (rq.name + ".key.pem");
  const fs::path cert_path = out_dir / (rq.name + ".cert.pem");
  const fs::path chain_path = out_dir / (rq.name + ".chain.pem");
  {
    OutputSet probe;  // the existence check runs before the CA key is even opened
    if (!csr) probe.add(key_path, {}, kKeyMode);
    probe.add(cert_path, {}, kCertMode);
    probe.add(chain_path, {}, kCertMode);
    if (auto r = probe.check_absent(rq.force); !r) return r.error();
  }

  auto ca = load_ca(rq.ca, rq.ca_passphrase);
  if (!ca) return ca.error();
  const KeyUsage ku = (*ca)->cert.key_usage();
  if (!(*ca)->cert.is_ca() || (ku.present && !ku.key_cert_sign))
    return make_error(
        "'" + rq.ca + "' is not allowed to sign certificates (no CA:TRUE/keyCertSign)",
        ErrorKind::refused);
  auto window =
      validity_window(rq.now, rq.validity_seconds, &(*ca)->cert, rq.beyond_issuer, out.warnings);
  if (!window) return window.error();

  UniquePtr<EVP_PKEY> key;
  EVP_PKEY* pub = nullptr;
  std::string key_type;
  if (csr) {
    pub = X509_REQ_get0_pubkey(csr->req.get());
    key_type = std::string(to_string(*key_type_of(pub)));
  } else {
    auto k = generate_key(rq.key_type);
    if (!k) return k.error();
    key = std::move(*k);
    pub = key.get();
    key_type = std::string(to_string(rq.key_type));
  }
  SignSpec spec;
  spec.subject = subject.get();
  spec.public_key = pub;
  signed_by_ca(spec, (*ca)->cert, (*ca)->key.get());
  spec.window = *window;
  spec.profile = std::move(params);
  auto cert = sign(spec);
  if (!cert) return cert.error();

  if (key) {
    auto key_pem = private_key_to_pem(key.get());
    if (!key_pem) return key_pem.error();
    files.add(key_path, std::move(*key_pem), kKeyMode);
  }
  std::vector<Certificate> chain{*cert};
  for (const auto& c : (*ca)->intermediates) chain.push_back(c);
  files.add(cert_path, cert->pem(), kCertMode);
  files.add(chain_path, pem_of(chain), kCertMode);

  auto ledger = this->ledger();
  if (!ledger) return ledger.error();
  auto entry = entry_for(*cert, rq.ca, rq.name, key_type, rq.profile, rq.now);
  auto done = record_and_write(**ledger, entry, files, rq.force, out);
  if (!done) return done.error();
  return out.finish(*cert);
}

}  // namespace certwatch::pki
