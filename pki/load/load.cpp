// Reading inputs (load.h): PEM, DER and PKCS#7 bytes into certificates and key counts, the
// size-limited whole-file reader that all of pki uses, and trust files (the directory walk is
// dir_walk.cpp). A little over 400 lines: the formats share the CA parse cache and the block
// naming.
#include "pki/load/load.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <utility>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <unordered_map>

#include "pki/load/chain_limits.h"
#include "pki/load/pkcs7_scan.h"
#include "pki/load/read_file.h"

namespace certwatch::pki {
namespace fs = std::filesystem;
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

bool all_space(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return is_space(c); });
}

bool is_private_key_label(std::string_view label) {
  return label == "PRIVATE KEY" || label == "ENCRYPTED PRIVATE KEY" || label == "ANY PRIVATE KEY" ||
         (label.size() > 12 && label.substr(label.size() - 12) == " PRIVATE KEY");
}

UniquePtr<BIO> mem_bio(std::string_view s) {
  return UniquePtr<BIO>(BIO_new_mem_buf(s.data(), static_cast<int>(s.size())));
}

// Certificates of a signed PKCS#7 structure, in bundle order.
Result<std::vector<Certificate>> pkcs7_certs(PKCS7* p7, std::string_view what) {
  STACK_OF(X509)* certs = nullptr;
  const int nid = OBJ_obj2nid(p7->type);
  if (nid == NID_pkcs7_signed && p7->d.sign != nullptr)
    certs = p7->d.sign->cert;
  else if (nid == NID_pkcs7_signedAndEnveloped && p7->d.signed_and_enveloped != nullptr)
    certs = p7->d.signed_and_enveloped->cert;
  else
    return make_error(std::string(what) + ": PKCS#7 structure is not signed data");
  std::vector<Certificate> out;
  for (int i = 0; i < sk_X509_num(certs); ++i) out.emplace_back(up_ref(sk_X509_value(certs, i)));
  return out;
}

// A PKCS#7 bundle holding more certificates than the judge analyses (with those already in
// `out`): only the first ones up to kMaxCertificatesAnalysed are parsed, the rest counted
// (pki/load/pkcs7_scan.h), as for PEM and DER files. False for smaller or unusual bundles, which
// OpenSSL parses whole as before (its errors are the precise ones).
bool load_large_pkcs7(std::string_view der, Loaded& out) {
  auto ders = pkcs7_certificate_ders(der);
  if (!ders || ders->size() + out.certs.size() <= kMaxCertificatesAnalysed) return false;
  const size_t take =
      kMaxCertificatesAnalysed - std::min(out.certs.size(), kMaxCertificatesAnalysed);
  std::vector<Certificate> certs;
  for (size_t i = 0; i < take; ++i) {
    const auto& d = (*ders)[i];
    auto c = Certificate::from_der_deferred_key(
        {reinterpret_cast<const unsigned char*>(d.data()), d.size()});
    if (!c) return false;
    certs.push_back(std::move(*c));
  }
  for (auto& c : certs) out.certs.push_back(std::move(c));
  out.certs_not_parsed += ders->size() - take;
  return true;
}

// The DER bytes of one PEM block (its base64 decoded), or "" when it does not decode.
std::string pem_block_der(std::string_view block) {
  auto bio = mem_bio(block);
  char* name = nullptr;
  char* header = nullptr;
  unsigned char* data = nullptr;
  long len = 0;
  std::string out;
  if (bio && PEM_read_bio(bio.get(), &name, &header, &data, &len) == 1)
    out.assign(reinterpret_cast<const char*>(data), static_cast<size_t>(len));
  ERR_clear_error();
  OPENSSL_free(name);
  OPENSSL_free(header);
  OPENSSL_free(data);
  return out;
}

// Parsed CA certificates by the text of their PEM block, shared by every load in the process.
// Why: OpenSSL 3.0's d2i_X509 decodes the public key through the provider decoder framework,
// which costs about two signature verifications per certificate, and the intermediates of a
// directory of chain files are the same few blocks of text in every file. Keyed by the exact
// text, a hit needs neither base64 nor a digest, and identical bytes always parse to the same
// certificate. Only CA certificates are kept (leaves are unique and would only grow the
// table); the table is emptied when full, so a long-running agent keeps the CAs it currently
// sees. A Certificate is immutable and shares its X509 by reference count, so one object may
// be handed to many threads. Thread-safety: every member locks.
class CaParseCache {
 public:
  static constexpr size_t kMaxEntries = 1024;

  std::optional<Certificate> find(const std::string& block) {
    std::lock_guard lock(mutex_);
    auto it = by_text_.find(block);
    if (it == by_text_.end()) return std::nullopt;
    return it->second;
  }
  void add(std::string block, const Certificate& c) {
    std::lock_guard lock(mutex_);
    if (by_text_.size() >= kMaxEntries) by_text_.clear();
    by_text_.emplace(std::move(block), c);
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, Certificate> by_text_;
};

CaParseCache& ca_parse_cache() {
  static CaParseCache cache;  // function-local static: outlives every load
  return cache;
}

// One "CERTIFICATE" PEM block, with CA certificates seen before taken from the cache; an
// end-entity certificate's key is left undecoded (Certificate::from_der_deferred_key).
Result<Certificate> read_pem_certificate(std::string_view block) {
  std::string key(block);
  if (auto hit = ca_parse_cache().find(key)) return std::move(*hit);
  auto bio = mem_bio(block);
  if (!bio) return make_error("out of memory");
  char* label = nullptr;
  unsigned char* der = nullptr;
  long len = 0;
  if (PEM_bytes_read_bio(&der, &len, &label, PEM_STRING_X509, bio.get(), nullptr, nullptr) != 1)
    return make_error(drain_errors());
  OPENSSL_free(label);
  auto c = Certificate::from_der_deferred_key({der, static_cast<size_t>(len)});
  OPENSSL_free(der);
  if (!c) return c;
  if ((X509_get_extension_flags(c->native()) & EXFLAG_CA) != 0)
    ca_parse_cache().add(std::move(key), *c);
  return c;
}

std::string block_name(std::string_view name, int index, std::string_view label) {
  return std::string(name) + ": block " + std::to_string(index + 1) + " (" + std::string(label) +
         ")";
}

Result<void> load_pem_block(std::string_view block, std::string_view label, int index,
                            std::string_view name, Loaded& out) {
  const std::string where = block_name(name, index, label);
  if (label == "CERTIFICATE" || label == "X509 CERTIFICATE" || label == "TRUSTED CERTIFICATE") {
    if (out.certs.size() >= kMaxCertificatesAnalysed) {
      ++out.certs_not_parsed;
      return {};
    }
    if (label != "TRUSTED CERTIFICATE") {
      auto c = read_pem_certificate(block);
      if (!c) return make_error(where + " is not a valid certificate: " + c.error().message);
      out.certs.push_back(std::move(*c));
      out.unordered = false;  // a plain block beside PKCS#7 ones: the file has an order
      return {};
    }
    // Trust settings (the _AUX part) are per object: never shared through the cache.
    auto bio = mem_bio(block);
    if (!bio) return make_error("out of memory");
    UniquePtr<X509> x(PEM_read_bio_X509_AUX(bio.get(), nullptr, nullptr, nullptr));
    if (!x) return make_error(where + " is not a valid certificate: " + drain_errors());
    out.certs.emplace_back(std::move(x));
    out.unordered = false;
    return {};
  }
  if (label == "PKCS7" || label == "PKCS #7 SIGNED DATA") {
    if (load_large_pkcs7(pem_block_der(block), out)) return {};
    auto bio = mem_bio(block);
    if (!bio) return make_error("out of memory");
    UniquePtr<PKCS7> p7(PEM_read_bio_PKCS7(bio.get(), nullptr, nullptr, nullptr));
    if (!p7) return make_error(where + " is not valid PKCS#7: " + drain_errors());
    auto certs = pkcs7_certs(p7.get(), where);
    if (!certs) return certs.error();
    if (out.certs.empty()) out.unordered = true;
    for (auto& c : *certs) out.certs.push_back(std::move(c));
    return {};
  }
  if (is_private_key_label(label)) {
    ++out.private_keys;
    if (label == "ENCRYPTED PRIVATE KEY" ||
        block.find("Proc-Type: 4,ENCRYPTED") != std::string_view::npos)
      out.encrypted_key = true;
    return {};
  }
  ++out.other_blocks;
  out.notes.push_back("block " + std::to_string(index + 1) + ": " + std::string(label) +
                      " skipped");
  return {};
}

Result<Loaded> load_pem(std::string_view data, std::string_view name) {
  Loaded out;
  out.format = "PEM";
  static constexpr std::string_view kBegin = "-----BEGIN ", kDashes = "-----";
  size_t pos = 0;
  int index = 0;
  while ((pos = data.find(kBegin, pos)) != std::string_view::npos) {
    const size_t label_start = pos + kBegin.size();
    const size_t label_end = data.find(kDashes, label_start);
    const size_t eol = data.find('\n', label_start);
    if (label_end == std::string_view::npos || (eol != std::string_view::npos && eol < label_end))
      return make_error(std::string(name) + ": malformed PEM header at byte " +
                        std::to_string(pos));
    const std::string_view label = data.substr(label_start, label_end - label_start);
    const std::string end_marker = "-----END " + std::string(label) + "-----";
    const size_t end = data.find(end_marker, label_end);
    if (end == std::string_view::npos)
      return make_error(block_name(name, index, label) + ": no matching END line");
    const std::string_view block = data.substr(pos, end + end_marker.size() - pos);
    if (auto r = load_pem_block(block, label, index, name, out); !r) return r.error();
    pos = end + end_marker.size();
    ++index;
  }
  return out;
}

// DER: one or more concatenated certificates, a PKCS#7 bundle, or one private key.
Result<Loaded> load_der(std::string_view data, std::string_view name) {
  Loaded out;
  const auto* begin = reinterpret_cast<const unsigned char*>(data.data());
  const long len = static_cast<long>(data.size());
  {
    const unsigned char* p = begin;
    std::vector<Certificate> certs;
    std::size_t not_parsed = 0;
    while (p < begin + len) {
      if (certs.size() >= kMaxCertificatesAnalysed) {
        // Past the bound only the envelope (tag and length) is read, to count and skip.
        const unsigned char* q = p;
        long body = 0;
        int tag = 0, cls = 0;
        const int rc = ASN1_get_object(&q, &body, &tag, &cls, static_cast<long>(begin + len - p));
        if ((rc & 0x80) != 0 || tag != V_ASN1_SEQUENCE || body > begin + len - q) {
          certs.clear();
          break;
        }
        p = q + body;
        ++not_parsed;
        continue;
      }
      size_t used = 0;
      auto c = Certificate::from_der_deferred_key({p, static_cast<size_t>(begin + len - p)}, &used);
      if (!c || used == 0) {
        certs.clear();
        break;
      }
      p += used;
      certs.push_back(std::move(*c));
    }
    ERR_clear_error();
    if (!certs.empty()) {
      out.format = "DER";
      out.certs = std::move(certs);
      out.certs_not_parsed = not_parsed;
      return out;
    }
  }
  if (load_large_pkcs7(data, out)) {
    out.format = "PKCS7-DER";
    return out;
  }
  {
    const unsigned char* p = begin;
    UniquePtr<PKCS7> p7(d2i_PKCS7(nullptr, &p, len));
    ERR_clear_error();
    if (p7 && p == begin + len) {
      auto certs = pkcs7_certs(p7.get(), name);
      if (!certs) return certs.error();
      out.format = "PKCS7-DER";
      out.certs = std::move(*certs);
      out.unordered = true;
      return out;
    }
  }
  {
    const unsigned char* p = begin;
    // X509_SIG has no Deleter in ossl_ptr.h: a local one.
    std::unique_ptr<X509_SIG, decltype(&X509_SIG_free)> enc(d2i_X509_SIG(nullptr, &p, len),
                                                            &X509_SIG_free);
    ERR_clear_error();
    if (enc && p == begin + len) {
      out.format = "DER";
      out.private_keys = 1;
      out.encrypted_key = true;
      return out;
    }
  }
  {
    const unsigned char* p = begin;
    UniquePtr<EVP_PKEY> key(d2i_AutoPrivateKey(nullptr, &p, len));
    ERR_clear_error();
    if (key && p == begin + len) {
      out.format = "DER";
      out.private_keys = 1;
      return out;
    }
  }
  return make_error(std::string(name) +
                    ": neither PEM nor a DER certificate, PKCS#7 bundle or key");
}

// OpenSSL's path building needs the key of every issuer candidate inside its X509, so a
// certificate that another one of the same input names as its issuer is parsed in full
// (a leaf acting as an issuer is odd, but OpenSSL must see it as it is). Names are matched
// by hash first: a 10 MiB bundle holds thousands of certificates.
void decode_keys_of_issuers(std::vector<Certificate>& certs) {
  if (certs.size() < 2 || std::none_of(certs.begin(), certs.end(),
                                       [](const Certificate& c) { return c.key_deferred(); }))
    return;
  const auto name_hash = [](const X509_NAME* name) -> std::optional<unsigned long> {
    int ok = 0;
    const unsigned long h = X509_NAME_hash_ex(name, nullptr, nullptr, &ok);
    if (ok != 1) {
      ERR_clear_error();
      return std::nullopt;
    }
    return h;
  };
  // Only the certificates the judge analyses (pki/load/chain_limits.h) can need an issuer's key:
  // decoding 22,000 keys of a hostile 10 MiB file would cost seconds.
  const size_t analysed = std::min(certs.size(), kMaxCertificatesAnalysed);
  std::unordered_multimap<unsigned long, size_t> by_issuer;
  bool all_hashed = true;
  for (size_t i = 0; i < analysed; ++i) {
    if (auto h = name_hash(X509_get_issuer_name(certs[i].native())))
      by_issuer.emplace(*h, i);
    else
      all_hashed = false;
  }
  for (size_t i = 0; i < analysed; ++i) {
    if (!certs[i].key_deferred()) continue;
    const X509_NAME* subject = X509_get_subject_name(certs[i].native());
    const auto names_it = [&](size_t j) {
      return j != i && X509_NAME_cmp(X509_get_issuer_name(certs[j].native()), subject) == 0;
    };
    bool issuer = false;
    const auto h = name_hash(subject);
    if (h && all_hashed) {
      auto [lo, hi] = by_issuer.equal_range(*h);
      for (auto it = lo; it != hi && !issuer; ++it) issuer = names_it(it->second);
    } else {
      for (size_t j = 0; j < analysed && !issuer; ++j) issuer = names_it(j);
    }
    if (issuer) certs[i] = certs[i].with_key_decoded();
  }
}

}  // namespace

Result<Loaded> load_bytes(std::string_view data, std::string_view name) {
  if (data.size() > kMaxInputBytes)
    return make_error(std::string(name) + ": " + std::to_string(data.size()) +
                      " bytes, over the 10 MiB limit");
  if (all_space(data)) {
    Loaded out;
    out.format = "empty";
    return out;
  }
  auto out = data.find("-----BEGIN ") != std::string_view::npos ? load_pem(data, name)
                                                                : load_der(data, name);
  if (out) decode_keys_of_issuers(out->certs);
  return out;
}

void FileInput::wipe() {
  if (!key_bytes.empty()) OPENSSL_cleanse(key_bytes.data(), key_bytes.size());
  key_bytes.clear();
}

Result<std::string> read_limited(const fs::path& path, std::uintmax_t limit) {
  return read_regular_file(path, limit);  // non-blocking, regular files only (pki/load/read_file.h)
}

FileInput load_file(const fs::path& path) {
  FileInput in;
  in.path = path;
  const auto fail = [&in](std::string message, ErrorKind kind) -> FileInput {
    in.loaded = make_error(std::move(message), kind);
    return std::move(in);
  };
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return fail(path.string() + ": " + std::strerror(errno), ErrorKind::io);
  in.mode = st.st_mode & 07777;
  if (!S_ISREG(st.st_mode)) return fail(path.string() + ": not a regular file", ErrorKind::io);
  if (static_cast<std::uintmax_t>(st.st_size) > kMaxInputBytes)
    return fail(path.string() + ": " + std::to_string(st.st_size) + " bytes, over the 10 MiB limit",
                ErrorKind::invalid_input);
  auto data = read_limited(path);
  if (!data) return fail(data.error().message, ErrorKind::io);
  auto loaded = load_bytes(*data, path.string());
  if (!loaded) {
    OPENSSL_cleanse(data->data(), data->size());
    return fail(loaded.error().message, ErrorKind::invalid_input);
  }
  if (loaded->private_keys > 0) in.key_bytes = *data;
  OPENSSL_cleanse(data->data(), data->size());
  in.loaded = std::move(*loaded);
  return in;
}

fs::path system_trust_file() {
  const char* env = std::getenv(X509_get_default_cert_file_env());
  return env != nullptr ? fs::path(env) : fs::path(X509_get_default_cert_file());
}

TrustFiles load_trust_files(std::span<const fs::path> paths) {
  TrustFiles out;
  for (const auto& w : walk_paths(paths)) {
    if (w.error) {
      out.errors.push_back(w.path.string() + ": " + w.error->message);
      continue;
    }
    auto in = load_file(w.path);
    if (!in.ok()) {
      out.errors.push_back(w.path.string() + ": " + in.loaded.error().message);
      continue;
    }
    for (const auto& c : in.loaded->certs) out.certs.push_back(c);
  }
  return out;
}

}  // namespace certwatch::pki
