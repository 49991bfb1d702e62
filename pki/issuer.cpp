#include "pki/issuer.h"

#include <arpa/inet.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include "pki/atomic_file.h"
#include "pki/crl.h"
#include "pki/dn.h"
#include "pki/duration.h"
#include "pki/load.h"
#include "pki/read_file.h"

namespace pki {

namespace fs = std::filesystem;

struct Issuer::LoadedCa {
  std::string name;
  Certificate cert;
  std::vector<Certificate> intermediates;  // the CA itself first, up to (not incl.) the root
  UniquePtr<EVP_PKEY> key;
  std::optional<Passphrase> passphrase;  // the one that opened the key: a cache hit needs the same
};

namespace {

constexpr mode_t kDirMode = 0700;
constexpr mode_t kCaKeyMode = 0400;
constexpr mode_t kKeyMode = 0600;
constexpr mode_t kCertMode = 0644;

Result<std::string> read_text(const fs::path& p) {
  auto data = read_regular_file(p, kMaxInputBytes);  // non-blocking, regular, capped
  if (!data) return make_error("cannot read " + data.error().message);
  return data;
}

Result<std::vector<Certificate>> parse_certs(std::string_view pem, const std::string& what) {
  UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return make_error("out of memory");
  std::vector<Certificate> out;
  for (;;) {
    X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (x == nullptr) break;
    out.emplace_back(UniquePtr<X509>(x));
  }
  drain_errors();  // the end of input is reported as an error entry
  if (out.empty()) return make_error(what + ": no PEM certificate found");
  return out;
}

std::string pem_of(const std::vector<Certificate>& certs) {
  std::string out;
  for (const auto& c : certs) out += c.pem();
  return out;
}

// Output files of one operation, written only after everything else succeeded. Without
// `force`, every target must be absent (checked first, then enforced by no-clobber links);
// if a write fails, the files this set already created are removed again.
class OutputSet {
 public:
  void add(fs::path path, std::string bytes, mode_t mode) {
    files_.push_back({std::move(path), std::move(bytes), mode});
  }
  Result<void> check_absent(bool force) const {
    if (force) return {};
    for (const auto& f : files_) {
      std::error_code ec;
      if (fs::exists(f.path, ec))
        return make_error(f.path.string() + " exists (use --force to replace it)");
    }
    return {};
  }
  Result<std::vector<fs::path>> write(bool force) {
    std::vector<FileWrite> writes;
    std::vector<fs::path> paths;
    for (const auto& f : files_) {
      if (auto dir = f.path.parent_path(); !dir.empty())
        if (auto r = make_directories(dir, kDirMode); !r) return r.error();
      writes.push_back({f.path, f.bytes, f.mode});
      paths.push_back(f.path);
    }
    // One step: all temp files fsynced, renamed in order (key first), each directory fsynced once.
    if (auto r = write_files_atomic(writes, {.replace = force}); !r) {
      if (!force && r.error().message.find(" exists") != std::string::npos)
        return make_error(r.error().message + " (use --force to replace it)");
      return r.error();
    }
    return paths;
  }
  ~OutputSet() {
    for (auto& f : files_)
      if (!f.bytes.empty()) OPENSSL_cleanse(f.bytes.data(), f.bytes.size());
  }

 private:
  struct File {
    fs::path path;
    std::string bytes;
    mode_t mode;
  };
  std::vector<File> files_;
};

// What an operation collected before its certificate exists.
struct Outcome {
  std::vector<fs::path> written;
  std::vector<std::string> warnings;
  Issued finish(const Certificate& cert) { return Issued{cert, std::move(written), std::move(warnings)}; }
};

struct Window {
  int64_t not_before = 0;
  int64_t not_after = 0;
};

// notBefore backdated by a minute (clock skew between issuer and relying parties); notAfter
// never beyond the issuer's.
Result<Window> validity_window(int64_t now, int64_t seconds, const Certificate* issuer,
                               BeyondIssuer policy, std::vector<std::string>& warnings) {
  if (seconds <= 0) return make_error("validity must be positive");
  // RFC 5280 4.1.2.5: the latest notAfter a certificate can carry is 9999-12-31T23:59:59Z.
  constexpr int64_t kLatestNotAfter = 253402300799;
  if (seconds > kLatestNotAfter - now)
    return make_error("validity ends after 9999-12-31T23:59:59Z, the latest date a certificate can carry");
  Window w{now - kBackdateSeconds, now + seconds};
  if (issuer != nullptr) {
    const auto iv = issuer->validity();
    if (iv.not_after <= now)
      return make_error("the issuing CA " + issuer->subject_cn() + " expired at " + format_iso8601(iv.not_after));
    if (w.not_after > iv.not_after) {
      if (policy == BeyondIssuer::refuse)
        return make_error("validity beyond the issuer: asked until " + format_iso8601(w.not_after) +
                          ", but the CA " + issuer->subject_cn() + " is valid until " +
                          format_iso8601(iv.not_after) + " (shorten --validity)");
      warnings.push_back("validity clamped to the issuer's notAfter " + format_iso8601(iv.not_after) +
                         " (asked until " + format_iso8601(w.not_after) + ")");
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

Result<Certificate> sign(const SignSpec& spec) {
  UniquePtr<X509> x(X509_new());
  if (!x) return make_error("out of memory");
  auto serial = random_serial();
  if (!serial) return serial.error();
  UniquePtr<ASN1_STRING> nb(ASN1_TIME_set(nullptr, static_cast<time_t>(spec.window.not_before)));
  UniquePtr<ASN1_STRING> na(ASN1_TIME_set(nullptr, static_cast<time_t>(spec.window.not_after)));
  if (X509_set_version(x.get(), X509_VERSION_3) != 1 ||
      X509_set_serialNumber(x.get(), serial->get()) != 1 ||
      X509_set_subject_name(x.get(), spec.subject) != 1 ||
      X509_set_issuer_name(x.get(), spec.issuer_name != nullptr ? spec.issuer_name : spec.subject) != 1 ||
      !nb || !na || X509_set1_notBefore(x.get(), nb.get()) != 1 ||
      X509_set1_notAfter(x.get(), na.get()) != 1 || X509_set_pubkey(x.get(), spec.public_key) != 1)
    return make_error("cannot build certificate: " + drain_errors());
  if (auto r = add_profile_extensions(x.get(), spec.issuer_cert, spec.profile); !r) return r.error();
  if (X509_sign(x.get(), spec.signer, signing_digest(spec.signer)) <= 0)
    return make_error("cannot sign certificate: " + drain_errors());
  return Certificate(std::move(x));
}

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
      return make_error("CSR SAN " + to_string(san) + ": " + ok.error().message);
    add(san);
  }
  return out;
}

struct CsrContent {
  UniquePtr<X509_REQ> req;
  std::vector<SubjectAltName> sans;
  std::vector<std::string> ignored_extensions;
};

Result<CsrContent> read_csr(const std::string& data) {
  CsrContent out;
  UniquePtr<BIO> bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  if (!bio) return make_error("out of memory");
  out.req.reset(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (!out.req) {
    const auto* p = reinterpret_cast<const unsigned char*>(data.data());
    out.req.reset(d2i_X509_REQ(nullptr, &p, static_cast<long>(data.size())));
  }
  if (!out.req) {
    drain_errors();
    return make_error("the CSR is neither a PEM nor a DER certificate request");
  }
  drain_errors();
  EVP_PKEY* pub = X509_REQ_get0_pubkey(out.req.get());
  if (pub == nullptr || X509_REQ_verify(out.req.get(), pub) != 1) {
    drain_errors();
    return make_error("the CSR's self-signature does not verify");
  }
  if (auto kt = key_type_of(pub); !kt) return make_error("CSR key: " + kt.error().message);

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
      return make_error("the CSR's subjectAltName cannot be decoded");
    }
    UniquePtr<GENERAL_NAMES> owned(names);
    for (int j = 0; j < sk_GENERAL_NAME_num(names); ++j) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, j);
      SubjectAltName san;
      if (gn->type == GEN_DNS || gn->type == GEN_EMAIL || gn->type == GEN_URI) {
        const ASN1_STRING* s = gn->d.ia5;
        san.type = gn->type == GEN_DNS     ? SubjectAltName::Type::dns
                   : gn->type == GEN_EMAIL ? SubjectAltName::Type::email
                                           : SubjectAltName::Type::uri;
        san.value.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                         static_cast<size_t>(ASN1_STRING_length(s)));
        if (san.value.find('\0') != std::string::npos) {
          sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
          return make_error("the CSR has a SAN with an embedded NUL");
        }
        if (san.type == SubjectAltName::Type::dns)
          std::transform(san.value.begin(), san.value.end(), san.value.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      } else if (gn->type == GEN_IPADD) {
        const ASN1_STRING* s = gn->d.iPAddress;
        char buf[INET6_ADDRSTRLEN] = {};
        const int len = ASN1_STRING_length(s);
        const int af = len == 4 ? AF_INET : len == 16 ? AF_INET6 : -1;
        if (af < 0 || inet_ntop(af, ASN1_STRING_get0_data(s), buf, sizeof buf) == nullptr) {
          sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
          return make_error("the CSR has a malformed IP SAN");
        }
        san.type = SubjectAltName::Type::ip;
        san.value = buf;
      } else {
        sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
        return make_error("the CSR has a SAN of an unsupported type (only DNS, IP, email, URI)");
      }
      out.sans.push_back(std::move(san));
    }
  }
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  return out;
}

LedgerEntry entry_for(const Certificate& cert, const std::string& ca, const std::string& name,
                      const std::string& key_type, Profile profile, int64_t now) {
  LedgerEntry e;
  e.serial = cert.serial_hex();
  e.ca = ca;
  e.name = name;
  e.subject = cert.subject();
  for (const auto& s : cert.sans()) e.sans.push_back(to_string(s));
  const auto v = cert.validity();
  e.not_before = v.not_before;
  e.not_after = v.not_after;
  e.sha256 = cert.sha256_hex();
  e.key_type = key_type;
  e.profile = std::string(to_string(profile));
  e.issued_at = now;
  return e;
}

// Records the certificate and writes its files as one unit: the ledger row commits only if
// every file was written, and a failed write rolls back both. A forced issue replaces the
// name: the valid certificates recorded under it by the same CA become superseded.
Result<void> record_and_write(Ledger& ledger, const LedgerEntry& entry, OutputSet& files, bool force,
                              Outcome& out) {
  return ledger.in_transaction([&]() -> Result<void> {
    if (auto r = ledger.insert(entry); !r) return r;
    if (force) {
      auto n = ledger.supersede(entry.ca, entry.name, entry.serial);
      if (!n) return n.error();
      if (*n > 0)
        out.warnings.push_back(std::to_string(*n) + " earlier certificate(s) named '" + entry.name +
                               "' by " + entry.ca + " marked superseded in the ledger (still valid until they expire; " +
                               "revoke them with --serial if their key is at risk)");
    }
    auto w = files.write(force);
    if (!w) return w.error();
    out.written = std::move(*w);
    return {};
  });
}

}  // namespace

Result<void> check_file_name(const std::string& what, const std::string& name) {
  if (name.empty()) return make_error(what + " is empty");
  if (name.size() > 64) return make_error(what + " '" + name + "' is longer than 64 characters");
  if (name.front() == '.' || name.front() == '-')
    return make_error(what + " '" + name + "' must not start with '.' or '-'");
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
      return make_error(what + " '" + name + "' may contain only letters, digits, '.', '_' and '-'");
  return {};
}

Result<UniquePtr<ASN1_STRING>> random_serial() {
  unsigned char bytes[20];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return make_error("no randomness: " + drain_errors());
  bytes[0] = static_cast<unsigned char>((bytes[0] & 0x3f) | 0x40);
  UniquePtr<BIGNUM> bn(BN_bin2bn(bytes, sizeof bytes, nullptr));
  UniquePtr<ASN1_STRING> serial(bn ? BN_to_ASN1_INTEGER(bn.get(), nullptr) : nullptr);
  if (!serial) return make_error("cannot encode serial: " + drain_errors());
  return serial;
}

Issuer::Issuer(fs::path dir) : dir_(std::move(dir)) {}
Issuer::~Issuer() = default;

fs::path Issuer::ca_cert_path(const std::string& ca) const { return dir_ / ca / "certs" / (ca + ".cert.pem"); }
fs::path Issuer::ca_key_path(const std::string& ca) const { return dir_ / ca / "private" / (ca + ".key.pem"); }
fs::path Issuer::ca_chain_path(const std::string& ca) const { return dir_ / ca / "certs" / (ca + ".chain.pem"); }
fs::path Issuer::crl_path(const std::string& ca) const { return dir_ / ca / "crl" / (ca + ".crl.pem"); }

std::vector<std::string> Issuer::ca_names() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    const auto name = e.path().filename().string();
    if (e.is_directory() && fs::exists(ca_cert_path(name)) && fs::exists(ca_key_path(name)))
      out.push_back(name);
  }
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
    if ((a == kRootCaName) != (b == kRootCaName)) return a == kRootCaName;
    return a < b;
  });
  return out;
}

Result<void> Issuer::require_pki_dir() const {
  std::error_code ec;
  if (!fs::is_directory(dir_, ec))
    return make_error("no PKI directory at " + dir_.string() + " (create it with 'certwatch pki init')");
  return {};
}

Result<Ledger*> Issuer::ledger() {
  if (!ledger_) {
    if (auto r = make_directories(dir_, kDirMode); !r) return r.error();
    auto l = Ledger::open(ledger_path());
    if (!l) return l.error();
    ledger_.emplace(std::move(*l));
  }
  return &*ledger_;
}

Result<Certificate> Issuer::ca_certificate(const std::string& ca) const {
  if (auto ok = check_file_name("CA name", ca); !ok) return ok.error();
  if (!fs::exists(ca_cert_path(ca)) || !fs::exists(ca_key_path(ca))) {
    std::string known;
    for (const auto& n : ca_names()) known += (known.empty() ? "" : ", ") + n;
    return make_error("unknown CA '" + ca + "' in " + dir_.string() +
                      (known.empty() ? std::string(" (no CA yet: run 'certwatch pki init')")
                                     : " (known: " + known + ")"));
  }
  auto pem = read_text(ca_cert_path(ca));
  if (!pem) return pem.error();
  auto cert = Certificate::from_pem(*pem);
  if (!cert) return make_error(ca_cert_path(ca).string() + ": " + cert.error().message);
  return cert;
}

Result<Issuer::LoadedCa*> Issuer::load_ca(const std::string& name, const std::optional<Passphrase>& passphrase) {
  // A cached CA is reused only for the same passphrase, so a wrong one is still refused.
  if (auto it = cas_.find(name); it != cas_.end()) {
    const auto& had = it->second->passphrase;
    if (had.has_value() == passphrase.has_value() && (!had || had->value() == passphrase->value()))
      return it->second.get();
    cas_.erase(it);
  }
  auto cert = ca_certificate(name);
  if (!cert) return cert.error();
  auto key_pem = read_text(ca_key_path(name));
  if (!key_pem) return key_pem.error();
  auto key = private_key_from_pem(*key_pem, passphrase);
  OPENSSL_cleanse(key_pem->data(), key_pem->size());
  if (!key) return make_error("CA '" + name + "': " + key.error().message);
  if (!key_matches(key->get(), cert->public_key_object()))
    return make_error("CA '" + name + "': the key does not belong to the certificate");
  auto ca = std::make_unique<LoadedCa>(LoadedCa{name, *cert, {}, std::move(*key), passphrase});
  if (name != kRootCaName || !cert->self_issued()) {
    if (fs::exists(ca_chain_path(name))) {
      auto chain_pem = read_text(ca_chain_path(name));
      if (!chain_pem) return chain_pem.error();
      auto chain = parse_certs(*chain_pem, ca_chain_path(name).string());
      if (!chain) return chain.error();
      ca->intermediates = std::move(*chain);
    } else if (!cert->self_issued()) {
      ca->intermediates.push_back(*cert);
    }
  }
  auto* raw = ca.get();
  cas_.emplace(name, std::move(ca));
  return raw;
}

Result<Issued> Issuer::init(const InitRequest& rq) {
  Outcome out;
  auto dn = parse_dn(rq.subject);
  if (!dn) return make_error("--subject: " + dn.error().message);
  auto name = to_x509_name(*dn);
  if (!name) return name.error();
  if (!rq.force && (fs::exists(ca_cert_path(kRootCaName)) || fs::exists(ca_key_path(kRootCaName))))
    return make_error("a root CA exists in " + dir_.string() + " (use --force to replace it)");
  // A new root orphans every CA below the old one: their chains would still verify against
  // the old bundle only, and leaves issued from them would fail against the new one.
  std::string below;
  for (const auto& ca : ca_names())
    if (ca != kRootCaName) below += (below.empty() ? "" : ", ") + ca;
  if (!below.empty())
    return make_error("intermediate CAs exist in " + dir_.string() + " (" + below +
                      "): a new root would orphan them; use a new directory");
  auto window = validity_window(rq.now, rq.validity_seconds, nullptr, BeyondIssuer::refuse, out.warnings);
  if (!window) return window.error();
  auto key = generate_key(rq.key_type);
  if (!key) return key.error();
  SignSpec spec;
  spec.subject = name->get();
  spec.public_key = key->get();
  spec.signer = key->get();
  spec.window = *window;
  spec.profile.profile = Profile::root;
  auto cert = sign(spec);
  if (!cert) return cert.error();
  auto key_pem = private_key_to_pem(key->get(), rq.passphrase);
  if (!key_pem) return key_pem.error();

  OutputSet files;
  files.add(ca_key_path(kRootCaName), std::move(*key_pem), kCaKeyMode);
  files.add(ca_cert_path(kRootCaName), cert->pem(), kCertMode);
  files.add(bundle_path(), cert->pem(), kCertMode);
  if (auto r = files.check_absent(rq.force); !r) return r.error();
  if (auto r = make_directories(dir_, kDirMode); !r) return r.error();
  auto ledger = this->ledger();
  if (!ledger) return ledger.error();
  auto entry = entry_for(*cert, kRootCaName, kRootCaName, std::string(to_string(rq.key_type)), Profile::root, rq.now);
  auto done = record_and_write(**ledger, entry, files, rq.force, out);
  if (!done) return done.error();
  cas_.erase(kRootCaName);
  return out.finish(*cert);
}

Result<Issued> Issuer::create_ca(const CaRequest& rq) {
  Outcome out;
  if (auto ok = require_pki_dir(); !ok) return ok.error();
  if (auto ok = check_file_name("CA name", rq.name); !ok) return ok.error();
  if (rq.name == kRootCaName) return make_error("'root-ca' is the root: create it with 'pki init'");
  auto dn = parse_dn(rq.subject);
  if (!dn) return make_error("--subject: " + dn.error().message);
  auto name = to_x509_name(*dn);
  if (!name) return name.error();
  if (rq.path_len < 0) return make_error("--path-len must not be negative");
  if (!rq.force && (fs::exists(ca_cert_path(rq.name)) || fs::exists(ca_key_path(rq.name))))
    return make_error("CA '" + rq.name + "' exists (use --force to replace it)");
  auto parent = load_ca(rq.parent, rq.parent_passphrase);
  if (!parent) return parent.error();
  if (auto pl = (*parent)->cert.path_len(); pl && rq.path_len >= *pl)
    return make_error("parent CA '" + rq.parent + "' has pathlen " + std::to_string(*pl) +
                      (*pl == 0 ? std::string(": it signs leaves only")
                                : ": it may not sign a CA with pathlen " + std::to_string(rq.path_len)));
  auto window = validity_window(rq.now, rq.validity_seconds, &(*parent)->cert, rq.beyond_issuer, out.warnings);
  if (!window) return window.error();
  auto key = generate_key(rq.key_type);
  if (!key) return key.error();
  SignSpec spec;
  spec.subject = name->get();
  spec.public_key = key->get();
  signed_by_ca(spec, (*parent)->cert, (*parent)->key.get());
  spec.window = *window;
  spec.profile.profile = Profile::intermediate;
  spec.profile.path_len = rq.path_len;
  auto cert = sign(spec);
  if (!cert) return cert.error();
  auto key_pem = private_key_to_pem(key->get(), rq.passphrase);
  if (!key_pem) return key_pem.error();
  std::vector<Certificate> chain{*cert};
  for (const auto& c : (*parent)->intermediates) chain.push_back(c);

  OutputSet files;
  files.add(ca_key_path(rq.name), std::move(*key_pem), kCaKeyMode);
  files.add(ca_cert_path(rq.name), cert->pem(), kCertMode);
  files.add(ca_chain_path(rq.name), pem_of(chain), kCertMode);
  if (auto r = files.check_absent(rq.force); !r) return r.error();
  auto ledger = this->ledger();
  if (!ledger) return ledger.error();
  auto entry = entry_for(*cert, rq.parent, rq.name, std::string(to_string(rq.key_type)), Profile::intermediate, rq.now);
  auto done = record_and_write(**ledger, entry, files, rq.force, out);
  if (!done) return done.error();
  cas_.erase(rq.name);
  return out.finish(*cert);
}

Result<Issued> Issuer::issue(const IssueRequest& rq) {
  Outcome out;
  if (auto ok = require_pki_dir(); !ok) return ok.error();
  if (rq.profile != Profile::server && rq.profile != Profile::client)
    return make_error("pki issue signs server or client leaves; CAs come from 'pki init' and 'pki ca'");
  if (auto ok = check_file_name("--name", rq.name); !ok) return ok.error();

  std::optional<CsrContent> csr;
  if (rq.csr) {
    auto c = read_csr(*rq.csr);
    if (!c) return make_error("--csr: " + c.error().message);
    csr.emplace(std::move(*c));
    for (const auto& ext : csr->ignored_extensions)
      out.warnings.push_back("CSR extension " + ext + " ignored (only SANs are taken from a CSR)");
  }
  UniquePtr<X509_NAME> subject;
  if (!rq.subject.empty()) {
    auto dn = parse_dn(rq.subject);
    if (!dn) return make_error("--subject: " + dn.error().message);
    auto name = to_x509_name(*dn);
    if (!name) return name.error();
    subject = std::move(*name);
  } else if (csr && X509_NAME_entry_count(X509_REQ_get_subject_name(csr->req.get())) > 0) {
    subject.reset(X509_NAME_dup(X509_REQ_get_subject_name(csr->req.get())));
    if (!subject) return make_error("out of memory");
  } else {
    return make_error("--subject is required (e.g. /CN=" + rq.name + ")");
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
    return make_error("'" + rq.ca + "' is not allowed to sign certificates (no CA:TRUE/keyCertSign)");
  auto window = validity_window(rq.now, rq.validity_seconds, &(*ca)->cert, rq.beyond_issuer, out.warnings);
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

Result<Issued> Issuer::import_ca(const ImportRequest& rq) {
  Outcome out;
  auto certs = parse_certs(rq.cert_pem, "--cert");
  if (!certs) return certs.error();
  const Certificate cert = certs->front();
  // Not a CA first: that is the answer whatever the name (a leaf has nothing to import).
  const KeyUsage ku = cert.key_usage();
  if (!cert.is_ca() || (ku.present && !ku.key_cert_sign))
    return make_error("--cert " + cert.subject() +
                      " is not a CA (needs basicConstraints CA:TRUE and keyCertSign): import adopts CAs; "
                      "leaves are issued with 'pki issue', and watched with 'check' or the agent");
  const bool self_signed = cert.self_issued() && cert.signed_by(cert);
  const std::string name = rq.name.empty() && self_signed ? std::string(kRootCaName) : rq.name;
  if (name.empty())
    return make_error("--cert " + cert.subject() + " is an intermediate CA (issued by " + cert.issuer() +
                      "): give it a name with --name (e.g. --name server-ca)");
  if (auto ok = check_file_name("--name", name); !ok) return ok.error();
  if (self_signed && name != kRootCaName)
    return make_error("a self-signed CA is the root: import it as 'root-ca'");
  if (!self_signed && name == kRootCaName)
    return make_error("'root-ca' must be self-signed; this certificate is issued by " + cert.issuer());
  auto key = private_key_from_pem(rq.key_pem, rq.passphrase);
  if (!key) return make_error("--key: " + key.error().message);
  if (!key_matches(key->get(), cert.public_key_object()))
    return make_error("--key does not belong to the certificate " + cert.subject());
  if (!rq.force && (fs::exists(ca_cert_path(name)) || fs::exists(ca_key_path(name))))
    return make_error("CA '" + name + "' exists (use --force to replace it)");

  // Walk up from the CA through the given parents (and CAs already here) to a root.
  std::vector<Certificate> pool;
  if (!rq.chain_pem.empty()) {
    auto parents = parse_certs(rq.chain_pem, "--chain");
    if (!parents) return parents.error();
    pool = std::move(*parents);
  }
  for (const auto& n : ca_names())
    if (auto c = ca_certificate(n); c) pool.push_back(*c);
  std::vector<Certificate> intermediates;
  std::optional<Certificate> root = self_signed ? std::optional<Certificate>(cert) : std::nullopt;
  if (!self_signed) {
    intermediates.push_back(cert);
    Certificate current = cert;
    for (size_t depth = 0; depth < 8 && !root; ++depth) {
      auto it = std::find_if(pool.begin(), pool.end(), [&](const Certificate& c) {
        return !c.same_as(current) && current.signed_by(c);
      });
      if (it == pool.end()) {
        out.warnings.push_back("the issuer of " + current.subject() +
                               " was not given (--chain): chain files will end at it");
        break;
      }
      if (it->self_issued()) root = *it;
      else intermediates.push_back(*it);
      current = *it;
    }
  }

  std::string key_pem;
  if (auto p = private_key_to_pem(key->get(), rq.passphrase && pem_key_is_encrypted(rq.key_pem)
                                                  ? rq.passphrase : std::nullopt);
      p)
    key_pem = std::move(*p);
  else
    return p.error();
  OutputSet files;
  files.add(ca_key_path(name), std::move(key_pem), kCaKeyMode);
  files.add(ca_cert_path(name), cert.pem(), kCertMode);
  if (!self_signed) files.add(ca_chain_path(name), pem_of(intermediates), kCertMode);
  if (auto r = files.check_absent(rq.force); !r) return r.error();
  if (auto r = make_directories(dir_, kDirMode); !r) return r.error();
  auto w = files.write(rq.force);
  if (!w) return w.error();
  out.written = std::move(*w);
  // The device bundle follows an imported root; an imported intermediate only seeds it.
  if (root && (self_signed || !fs::exists(bundle_path()))) {
    if (auto r = write_file_atomic(bundle_path(), root->pem(), kCertMode); !r) return r.error();
    out.written.push_back(bundle_path());
  }
  cas_.erase(name);
  return out.finish(cert);
}

Result<fs::path> Issuer::write_bundle(bool with_intermediates, const std::optional<fs::path>& out) {
  if (auto ok = require_pki_dir(); !ok) return ok.error();
  std::vector<Certificate> roots;
  if (fs::exists(ca_cert_path(kRootCaName))) {
    auto root = ca_certificate(kRootCaName);
    if (!root) return root.error();
    roots.push_back(*root);
  } else if (fs::exists(bundle_path())) {
    // An imported intermediate whose root key stayed offline: the root came with the import.
    auto pem = read_text(bundle_path());
    if (!pem) return pem.error();
    auto certs = parse_certs(*pem, bundle_path().string());
    if (!certs) return certs.error();
    for (const auto& c : *certs)
      if (c.self_issued()) roots.push_back(c);
  }
  if (roots.empty()) return make_error("no root CA in " + dir_.string());
  std::vector<Certificate> certs;
  if (with_intermediates)
    for (const auto& n : ca_names())
      if (n != kRootCaName) {
        auto c = ca_certificate(n);
        if (!c) return c.error();
        certs.push_back(*c);
      }
  certs.insert(certs.end(), roots.begin(), roots.end());
  const fs::path target = out.value_or(bundle_path());
  if (auto r = write_file_atomic(target, pem_of(certs), kCertMode); !r) return r.error();
  return target;
}

Result<LedgerEntry> Issuer::revoke(const std::optional<std::string>& ca, const std::optional<std::string>& serial,
                                   const std::optional<std::string>& name, const std::string& reason, int64_t now) {
  if (auto ok = require_pki_dir(); !ok) return ok.error();
  if (serial.has_value() == name.has_value()) return make_error("give exactly one of --serial and --name");
  if (auto r = parse_crl_reason(reason); !r) return r.error();
  auto ledger = this->ledger();
  if (!ledger) return ledger.error();
  auto found = serial ? (*ledger)->find_serial(*serial, ca) : (*ledger)->find_name(*name, ca);
  if (!found) return found.error();
  if (found->empty())
    return make_error("no " + std::string(serial ? "certificate with serial " + *serial : "valid certificate named " + *name) +
                      (ca ? " issued by " + *ca : std::string()) + " in the ledger");
  if (found->size() > 1)
    return make_error(std::to_string(found->size()) + " certificates match; give --serial (and --ca)");
  LedgerEntry e = found->front();
  if (e.status == "revoked") return make_error("serial " + e.serial + " is already revoked");
  if (auto r = (*ledger)->revoke(e.ca, e.serial, reason, now); !r) return r.error();
  e.status = "revoked";
  e.revoked_at = now;
  e.revocation_reason = reason;
  return e;
}

Result<CrlResult> Issuer::write_crl(const std::string& ca, const std::optional<Passphrase>& passphrase,
                                    int64_t next_update_seconds, int64_t now, const std::optional<fs::path>& out) {
  if (auto ok = require_pki_dir(); !ok) return ok.error();
  if (next_update_seconds <= 0) return make_error("--next-update must be positive");
  auto loaded = load_ca(ca, passphrase);
  if (!loaded) return loaded.error();
  auto ledger = this->ledger();
  if (!ledger) return ledger.error();
  auto revoked = (*ledger)->revoked(ca);
  if (!revoked) return revoked.error();
  std::vector<RevokedCert> list;
  for (const auto& e : *revoked) list.push_back({e.serial, e.revoked_at, e.revocation_reason});
  auto number = (*ledger)->next_crl_number(ca);
  if (!number) return number.error();
  CrlParams params{*number, now - kBackdateSeconds, now + next_update_seconds};
  auto pem = make_crl((*loaded)->cert, (*loaded)->key.get(), list, params);
  if (!pem) return pem.error();
  const fs::path target = out.value_or(crl_path(ca));
  if (target.has_parent_path())
    if (auto r = make_directories(target.parent_path(), kDirMode); !r) return r.error();
  if (auto r = write_file_atomic(target, *pem, kCertMode); !r) return r.error();
  return CrlResult{target, *number, list.size()};
}

}  // namespace pki
