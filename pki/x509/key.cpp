#include "pki/x509/key.h"

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "pki/load/load.h"

namespace certwatch::pki {
namespace {

struct PassArg {
  const std::optional<std::string>* passphrase;
  bool asked = false;
};

// Gives OpenSSL the passphrase if we have one; otherwise fails the decryption instead of
// prompting on the terminal (OpenSSL's default).
int pass_cb(char* buf, int size, int /*rwflag*/, void* u) {
  auto* arg = static_cast<PassArg*>(u);
  arg->asked = true;
  if (arg->passphrase == nullptr || !arg->passphrase->has_value()) return -1;
  const std::string& p = **arg->passphrase;
  if (p.size() > static_cast<size_t>(size)) return -1;
  std::memcpy(buf, p.data(), p.size());
  return static_cast<int>(p.size());
}

std::string hex_lower(const unsigned char* p, size_t n) {
  static constexpr char d[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(d[p[i] >> 4]);
    out.push_back(d[p[i] & 0xf]);
  }
  return out;
}

// The first private-key PEM block, or "" if none.
std::string_view first_key_block(std::string_view data) {
  size_t pos = 0;
  while ((pos = data.find("-----BEGIN ", pos)) != std::string_view::npos) {
    const size_t label_end = data.find("-----", pos + 11);
    if (label_end == std::string_view::npos) return {};
    const std::string_view label = data.substr(pos + 11, label_end - pos - 11);
    const std::string end_marker = "-----END " + std::string(label) + "-----";
    const size_t end = data.find(end_marker, label_end);
    if (end == std::string_view::npos) return {};
    if (label.size() >= 11 && label.substr(label.size() - 11) == "PRIVATE KEY")
      return data.substr(pos, end + end_marker.size() - pos);
    pos = end + end_marker.size();
  }
  return {};
}

}  // namespace

std::string public_key_sha256_hex(const EVP_PKEY* key) {
  X509_PUBKEY* raw = nullptr;
  if (X509_PUBKEY_set(&raw, const_cast<EVP_PKEY*>(key)) != 1) {
    drain_errors();
    return {};
  }
  std::unique_ptr<X509_PUBKEY, decltype(&X509_PUBKEY_free)> pub(raw, &X509_PUBKEY_free);
  const unsigned char* bits = nullptr;
  int len = 0;
  if (X509_PUBKEY_get0_param(nullptr, &bits, &len, nullptr, pub.get()) != 1) return {};
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(bits, static_cast<size_t>(len), md, &n, EVP_sha256(), nullptr) != 1) return {};
  return hex_lower(md, n);
}

std::string describe_key(const EVP_PKEY* key) {
  return describe_public_key(public_key_info(key));
}

bool key_mode_too_open(unsigned mode) {
  return (mode & (S_IRGRP | S_IROTH)) != 0;
}

Result<KeyRecord> key_from_bytes(std::string_view data, std::string path, unsigned mode,
                                 const std::optional<std::string>& passphrase) {
  KeyRecord rec;
  rec.path = std::move(path);
  rec.mode = mode;
  UniquePtr<EVP_PKEY> key;
  PassArg arg{&passphrase};
  const std::string_view block = first_key_block(data);
  if (!block.empty()) {
    const bool encrypted = block.find("ENCRYPTED") != std::string_view::npos;
    UniquePtr<BIO> bio(BIO_new_mem_buf(block.data(), static_cast<int>(block.size())));
    if (!bio) return make_error("out of memory");
    key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, pass_cb, &arg));
    if (!key) {
      const std::string why = drain_errors();
      if (encrypted || arg.asked) {
        rec.encrypted = true;
        return rec;
      }
      return make_error(rec.path + ": private key does not decode: " + why);
    }
  } else {
    const auto* begin = reinterpret_cast<const unsigned char*>(data.data());
    const long len = static_cast<long>(data.size());
    const unsigned char* p = begin;
    std::unique_ptr<X509_SIG, decltype(&X509_SIG_free)> enc(d2i_X509_SIG(nullptr, &p, len),
                                                            &X509_SIG_free);
    if (enc && p == begin + len) {
      ERR_clear_error();
      UniquePtr<BIO> bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
      if (bio) key.reset(d2i_PKCS8PrivateKey_bio(bio.get(), nullptr, pass_cb, &arg));
      if (!key) {
        drain_errors();
        rec.encrypted = true;
        return rec;
      }
    } else {
      ERR_clear_error();
      p = begin;
      key.reset(d2i_AutoPrivateKey(nullptr, &p, len));
      if (!key) return make_error(rec.path + ": no private key found: " + drain_errors());
    }
  }
  rec.spki_sha256 = public_key_sha256_hex(key.get());
  rec.key_type = describe_key(key.get());
  return rec;
}

Result<KeyRecord> load_key(const std::filesystem::path& path,
                           const std::optional<std::string>& passphrase) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return make_error(path.string() + ": " + std::strerror(errno));
  auto data = read_limited(path);
  if (!data) return data.error();
  auto rec = key_from_bytes(*data, path.string(), st.st_mode & 07777, passphrase);
  OPENSSL_cleanse(data->data(), data->size());
  return rec;
}

}  // namespace certwatch::pki
