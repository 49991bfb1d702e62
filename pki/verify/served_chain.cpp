// Served chains and client identities for the prober (see served_chain.h).
#include "pki/verify/served_chain.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <string>

#include "pki/load/load.h"

namespace certwatch::pki {

std::vector<Certificate> served_chain(const SSL* ssl) {
  std::vector<Certificate> out;
  // On the client side the stack holds the leaf too, in the order received; it is owned by
  // the session, so each certificate takes its own reference.
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
  if (chain == nullptr) return out;
  const int n = sk_X509_num(chain);
  out.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) out.emplace_back(up_ref(sk_X509_value(chain, i)));
  return out;
}

namespace {

std::string openssl_error_text() {
  const unsigned long e = ERR_peek_last_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

// Never prompts: an encrypted key is an error for a non-interactive probe.
int no_passphrase(char*, int, int, void*) {
  return -1;
}

Result<UniquePtr<EVP_PKEY>> load_private_key(const std::filesystem::path& key_file) {
  auto bytes = read_limited(key_file);
  if (!bytes) return bytes.error();
  UniquePtr<BIO> bio(BIO_new_mem_buf(bytes->data(), static_cast<int>(bytes->size())));
  UniquePtr<EVP_PKEY> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  if (!key) {
    // DER (PKCS#8 or traditional) as the loader accepts it.
    const auto* p = reinterpret_cast<const unsigned char*>(bytes->data());
    key.reset(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(bytes->size())));
  }
  OPENSSL_cleanse(bytes->data(), bytes->size());
  ERR_clear_error();
  if (!key)
    return make_error(key_file.string() + " holds no usable private key (not a key, or encrypted)",
                      ErrorKind::invalid_input);
  return key;
}

}  // namespace

Result<void> use_client_identity(SSL_CTX* ctx, const std::filesystem::path& cert_file,
                                 const std::filesystem::path& key_file) {
  FileInput in = load_file(cert_file);
  if (!in.ok()) return make_error("--cert: " + in.loaded.error().message, ErrorKind::invalid_input);
  if (in.loaded->certs.empty())
    return make_error("--cert: " + cert_file.string() + " holds no certificate",
                      ErrorKind::invalid_input);
  // OpenSSL uses the leaf's key (to check the pair, to pick the signature scheme): hand it
  // a certificate with the key decoded, never the loader's deferred one.
  const Certificate leaf = in.loaded->certs.front().with_key_decoded();
  if (leaf.public_key_object() == nullptr)
    return make_error("--cert: the public key of " + cert_file.string() + " cannot be decoded",
                      ErrorKind::invalid_input);
  auto key = load_private_key(key_file);
  if (!key) return make_error("--key: " + key.error().message, ErrorKind::invalid_input);
  if (EVP_PKEY_eq(leaf.public_key_object(), key->get()) != 1) {
    ERR_clear_error();
    return make_error("--key: " + key_file.string() + " does not belong to the certificate in " +
                          cert_file.string(),
                      ErrorKind::invalid_input);
  }
  if (SSL_CTX_use_certificate(ctx, leaf.native()) != 1)
    return make_error("--cert: " + openssl_error_text(), ErrorKind::invalid_input);
  if (SSL_CTX_use_PrivateKey(ctx, key->get()) != 1)
    return make_error("--key: " + openssl_error_text(), ErrorKind::invalid_input);
  for (size_t i = 1; i < in.loaded->certs.size(); ++i) {
    // add1: the context takes its own reference.
    if (SSL_CTX_add1_chain_cert(ctx, in.loaded->certs[i].with_key_decoded().native()) != 1)
      return make_error("--cert: " + openssl_error_text(), ErrorKind::invalid_input);
  }
  return {};
}

}  // namespace certwatch::pki
