// The issuer's CA store: the directory layout (pki/issue/issuer.h), the CAs found in it, loading a
// CA with its key and chain (cached per passphrase), the ledger connection, adopting an
// existing CA (import) and the device bundle.
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cctype>

#include "pki/deploy/atomic_file.h"
#include "pki/issue/issuer_internal.h"
#include "pki/load/load.h"
#include "pki/load/passphrase_file.h"

namespace certwatch::pki {

namespace fs = std::filesystem;

namespace {

// A CA file's text, through pki's one reader (pki/load/load.h).
Result<std::string> read_text(const fs::path& p) {
  auto text = read_limited(p);
  if (!text) return make_error("cannot read " + p.string(), ErrorKind::io);
  return text;
}

}  // namespace

Result<std::vector<Certificate>> parse_certs(std::string_view pem, const std::string& what) {
  UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return make_error("out of memory", ErrorKind::crypto);
  std::vector<Certificate> out;
  for (;;) {
    X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (x == nullptr) break;
    out.emplace_back(UniquePtr<X509>(x));
  }
  drain_errors();  // the end of input is reported as an error entry
  if (out.empty())
    return make_error(what + ": no PEM certificate found", ErrorKind::invalid_input, what);
  return out;
}

std::string pem_of(const std::vector<Certificate>& certs) {
  std::string out;
  for (const auto& c : certs) out += c.pem();
  return out;
}

Result<void> check_file_name(const std::string& what, const std::string& name) {
  if (name.empty()) return make_error(what + " is empty", ErrorKind::invalid_input, what);
  if (name.size() > 64)
    return make_error(what + " '" + name + "' is longer than 64 characters",
                      ErrorKind::invalid_input, what);
  if (name.front() == '.' || name.front() == '-')
    return make_error(what + " '" + name + "' must not start with '.' or '-'",
                      ErrorKind::invalid_input, what);
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
      return make_error(what + " '" + name + "' may contain only letters, digits, '.', '_' and '-'",
                        ErrorKind::invalid_input, what);
  return {};
}

Issuer::Issuer(fs::path dir) : dir_(std::move(dir)) {}
Issuer::~Issuer() = default;

fs::path Issuer::ca_cert_path(const std::string& ca) const {
  return dir_ / ca / "certs" / (ca + ".cert.pem");
}
fs::path Issuer::ca_key_path(const std::string& ca) const {
  return dir_ / ca / "private" / (ca + ".key.pem");
}
fs::path Issuer::ca_key_uri_path(const std::string& ca) const {
  return dir_ / ca / "private" / (ca + ".key.pkcs11");
}
bool Issuer::ca_key_in_token(const std::string& ca) const {
  std::error_code ec;
  return fs::exists(ca_key_uri_path(ca), ec);
}
fs::path Issuer::ca_chain_path(const std::string& ca) const {
  return dir_ / ca / "certs" / (ca + ".chain.pem");
}
fs::path Issuer::crl_path(const std::string& ca) const {
  return dir_ / ca / "crl" / (ca + ".crl.pem");
}

std::vector<std::string> Issuer::ca_names() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    const auto name = e.path().filename().string();
    if (e.is_directory() && fs::exists(ca_cert_path(name))) out.push_back(name);
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
    return make_error(
        "no PKI directory at " + dir_.string() + " (create it with 'certwatch pki init')",
        ErrorKind::not_found);
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
  // The certificate alone makes a CA known: a root whose key went offline after signing the
  // intermediates (README "Offline root") still anchors their chains.
  if (!fs::exists(ca_cert_path(ca))) {
    std::string known;
    for (const auto& n : ca_names()) known += (known.empty() ? "" : ", ") + n;
    return make_error("unknown CA '" + ca + "' in " + dir_.string() +
                          (known.empty() ? std::string(" (no CA yet: run 'certwatch pki init')")
                                         : " (known: " + known + ")"),
                      ErrorKind::not_found);
  }
  auto pem = read_text(ca_cert_path(ca));
  if (!pem) return pem.error();
  auto cert = Certificate::from_pem(*pem);
  if (!cert)
    return make_error(ca_cert_path(ca).string() + ": " + cert.error().message, ErrorKind::crypto);
  return cert;
}

Result<CaKey> Issuer::open_ca_key(const std::string& name,
                                  const std::optional<Passphrase>& secret) const {
  if (ca_key_in_token(name)) {
    auto text = read_text(ca_key_uri_path(name));
    if (!text) return text.error();
    auto uri = parse_pkcs11_uri(first_line(*text));
    if (!uri)
      return make_error(ca_key_uri_path(name).string() + ": " + uri.error().message,
                        ErrorKind::invalid_input);
    auto key = CaKey::from_token(*uri, secret);
    if (!key)
      return make_error("CA '" + name + "': " + key.error().message, key.error().kind,
                        key.error().input, key.error().fix);
    return key;
  }
  std::error_code ec;
  if (!fs::exists(ca_key_path(name), ec))
    return make_error("CA '" + name + "' has no key in " + dir_.string() + " (neither " +
                          ca_key_path(name).filename().string() + " nor " +
                          ca_key_uri_path(name).filename().string() +
                          "): it cannot sign here; an offline root signs only where its key is",
                      ErrorKind::not_found);
  auto key_pem = read_text(ca_key_path(name));
  if (!key_pem) return key_pem.error();
  auto key = private_key_from_pem(*key_pem, secret);
  OPENSSL_cleanse(key_pem->data(), key_pem->size());
  if (!key) return make_error("CA '" + name + "': " + key.error().message, ErrorKind::crypto);
  return CaKey(std::move(*key));
}

Result<MadeKey> make_ca_key(KeyType type, const NewKey& spec,
                            const std::optional<Passphrase>& passphrase) {
  bool generated = true;
  auto key = CaKey::create(type, spec.key_type_given, spec.token, spec.pin, &generated);
  if (!key) return key.error();
  auto actual = key_type_of(key->get());
  if (!actual)
    return make_error(key->describe() + ": " + actual.error().message, ErrorKind::refused);
  MadeKey out{std::move(*key), {}, std::string(to_string(*actual)), {}, generated};
  if (spec.token) {
    out.key_uri = spec.token->text();
    out.file_bytes = out.key_uri + "\n";
  } else {
    auto pem = private_key_to_pem(out.key.get(), passphrase);
    if (!pem) return pem.error();
    out.file_bytes = std::move(*pem);
  }
  return out;
}

Result<Issuer::LoadedCa*> Issuer::load_ca(const std::string& name,
                                          const std::optional<Passphrase>& passphrase) {
  // A cached CA is reused only for the same passphrase, so a wrong one is still refused.
  if (auto it = cas_.find(name); it != cas_.end()) {
    const auto& had = it->second->passphrase;
    if (had.has_value() == passphrase.has_value() && (!had || had->value() == passphrase->value()))
      return it->second.get();
    cas_.erase(it);
  }
  auto cert = ca_certificate(name);
  if (!cert) return cert.error();
  auto key = open_ca_key(name, passphrase);
  if (!key) return key.error();
  if (!key_matches(key->get(), cert->public_key_object()))
    return make_error("CA '" + name + "': the key does not belong to the certificate",
                      ErrorKind::crypto);
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

Result<Issued> Issuer::import_ca(const ImportRequest& rq) {
  Outcome out;
  auto certs = parse_certs(rq.cert_pem, "certificate");
  if (!certs) return certs.error();
  const Certificate cert = certs->front();
  // Not a CA first: that is the answer whatever the name (a leaf has nothing to import).
  const KeyUsage ku = cert.key_usage();
  if (!cert.is_ca() || (ku.present && !ku.key_cert_sign))
    return make_error(
        "certificate " + cert.subject() +
            " is not a CA (needs basicConstraints CA:TRUE and keyCertSign): import adopts CAs; "
            "leaves are issued with 'pki issue', and watched with 'check' or the agent",
        ErrorKind::refused, "certificate");
  const bool self_signed = cert.self_issued() && cert.signed_by(cert);
  const std::string name = rq.name.empty() && self_signed ? std::string(kRootCaName) : rq.name;
  if (name.empty())
    return make_error("certificate " + cert.subject() + " is an intermediate CA (issued by " +
                          cert.issuer() + "): give it a name",
                      ErrorKind::invalid_input, "certificate", "name");
  if (auto ok = check_file_name("name", name); !ok) return ok.error();
  if (self_signed && name != kRootCaName)
    return make_error("a self-signed CA is the root: import it as 'root-ca'",
                      ErrorKind::invalid_input);
  if (!self_signed && name == kRootCaName)
    return make_error(
        "'root-ca' must be self-signed; this certificate is issued by " + cert.issuer(),
        ErrorKind::invalid_input);
  std::optional<CaKey> key;
  // The request field the key came from, as the messages start with it.
  const std::string key_input = rq.key_uri ? "key URI" : "key";
  if (rq.key_uri) {
    auto k = CaKey::from_token(*rq.key_uri, rq.pin);
    if (!k)
      return make_error(key_input + ": " + k.error().message, k.error().kind, key_input,
                        k.error().fix);
    key.emplace(std::move(*k));
  } else {
    auto k = private_key_from_pem(rq.key_pem, rq.passphrase);
    if (!k) return make_error("key: " + k.error().message, ErrorKind::crypto, "key");
    key.emplace(std::move(*k));
  }
  if (!key_matches(key->get(), cert.public_key_object()))
    return make_error(key_input + " does not belong to the certificate " + cert.subject(),
                      ErrorKind::invalid_input, key_input);
  if (!rq.force &&
      (fs::exists(ca_cert_path(name)) || fs::exists(ca_key_path(name)) || ca_key_in_token(name)))
    return make_error("CA '" + name + "' exists", ErrorKind::exists);

  // Walk up from the CA through the given parents (and CAs already here) to a root.
  std::vector<Certificate> pool;
  if (!rq.chain_pem.empty()) {
    auto parents = parse_certs(rq.chain_pem, "chain");
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
                               " was not given in the chain: chain files will end at it");
        break;
      }
      if (it->self_issued())
        root = *it;
      else
        intermediates.push_back(*it);
      current = *it;
    }
  }

  OutputSet files;
  if (rq.key_uri) {
    files.add(ca_key_uri_path(name), rq.key_uri->text() + "\n", kKeyMode);
  } else {
    auto p = private_key_to_pem(key->get(), rq.passphrase && pem_key_is_encrypted(rq.key_pem)
                                                ? rq.passphrase
                                                : std::nullopt);
    if (!p) return p.error();
    files.add(ca_key_path(name), std::move(*p), kCaKeyMode);
  }
  files.add(ca_cert_path(name), cert.pem(), kCertMode);
  if (!self_signed) files.add(ca_chain_path(name), pem_of(intermediates), kCertMode);
  if (auto r = files.check_absent(rq.force); !r) return r.error();
  if (auto r = make_directories(dir_, kDirMode); !r) return r.error();
  auto w = files.write(rq.force);
  if (!w) return w.error();
  out.written = std::move(*w);
  remove_other_key_file(name, rq.key_uri.has_value());
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
  if (roots.empty()) return make_error("no root CA in " + dir_.string(), ErrorKind::not_found);
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

}  // namespace certwatch::pki
