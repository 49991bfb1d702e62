#include "pki/acme/jws.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <array>
#include <memory>

#include "base/json.h"
#include "pki/x509/keygen.h"

namespace certwatch::pki {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr int kP256Bytes = 32;

struct EcdsaSigDeleter {
  void operator()(ECDSA_SIG* s) const noexcept { ECDSA_SIG_free(s); }
};

// A big-endian unsigned integer parameter of the key, left-padded to `width` bytes (0: minimal).
Result<std::string> bn_param(const EVP_PKEY* key, const char* name, int width) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1)
    return make_error(std::string("key has no ") + name, ErrorKind::crypto);
  UniquePtr<BIGNUM> bn(raw);
  const int size = width > 0 ? width : BN_num_bytes(bn.get());
  std::string out(static_cast<size_t>(size), '\0');
  if (BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()), size) != size)
    return make_error(std::string("cannot encode ") + name, ErrorKind::crypto);
  return out;
}

std::string sha256(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(md.data()), len);
}

// ES256 wants r||s, 32 bytes each (RFC 7518 3.4), where OpenSSL produces DER.
Result<std::string> der_to_raw_ecdsa(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<ECDSA_SIG, EcdsaSigDeleter> sig(
      d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig)
    return make_error("cannot decode the ECDSA signature: " + drain_errors(), ErrorKind::crypto);
  std::string out(2 * kP256Bytes, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), o, kP256Bytes) != kP256Bytes ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), o + kP256Bytes, kP256Bytes) != kP256Bytes)
    return make_error("cannot encode the ECDSA signature", ErrorKind::crypto);
  return out;
}

Result<std::string> sign_sha256(const EVP_PKEY* key, std::string_view data) {
  UniquePtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  size_t len = 0;
  if (!ctx ||
      EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, const_cast<EVP_PKEY*>(key)) !=
          1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()),
                     data.size()) != 1)
    return make_error("cannot sign: " + drain_errors(), ErrorKind::crypto);
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1)
    return make_error("cannot sign: " + drain_errors(), ErrorKind::crypto);
  sig.resize(len);
  return sig;
}

std::string signed_json(const std::string& protected64, const std::string& payload64,
                        const std::string& sig) {
  JsonWriter w;
  w.begin_object().key("protected").value(protected64).key("payload").value(payload64);
  w.key("signature").value(base64url(sig)).end_object();
  return w.take();
}

}  // namespace

std::string base64url(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = (static_cast<uint8_t>(bytes[i]) << 16) |
                       (static_cast<uint8_t>(bytes[i + 1]) << 8) |
                       static_cast<uint8_t>(bytes[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out.push_back(kAlphabet[(v >> shift) & 63]);
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = static_cast<uint32_t>(static_cast<uint8_t>(bytes[i])) << 16;
    if (rest == 2) v |= static_cast<uint32_t>(static_cast<uint8_t>(bytes[i + 1])) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    if (rest == 2) out.push_back(kAlphabet[(v >> 6) & 63]);
  }
  return out;
}

Result<std::string> base64url_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1)
    return make_error("base64url text has an impossible length", ErrorKind::invalid_input);
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const char* hit = c == '\0' ? nullptr : std::char_traits<char>::find(kAlphabet, 64, c);
    if (hit == nullptr)
      return make_error("base64url text has a character outside its alphabet",
                        ErrorKind::invalid_input);
    acc = (acc << 6) | static_cast<uint32_t>(hit - kAlphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

Result<std::string> jws_alg(const EVP_PKEY* key) {
  auto type = key_type_of(key);
  if (!type)
    return make_error("the account key is not usable for ACME: " + type.error().message,
                      ErrorKind::invalid_input);
  if (*type == KeyType::ec_p256) return std::string("ES256");
  if (is_rsa(*type)) return std::string("RS256");
  return make_error("the account key must be EC P-256 (ES256) or RSA >= 2048 (RS256), not " +
                        std::string(to_string(*type)),
                    ErrorKind::invalid_input);
}

Result<std::string> jwk_json(const EVP_PKEY* key) {
  auto alg = jws_alg(key);
  if (!alg) return alg.error();
  JsonWriter w;
  w.begin_object();
  if (*alg == "ES256") {
    auto x = bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, kP256Bytes);
    auto y = bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, kP256Bytes);
    if (!x) return x.error();
    if (!y) return y.error();
    w.key("crv")
        .value("P-256")
        .key("kty")
        .value("EC")
        .key("x")
        .value(base64url(*x))
        .key("y")
        .value(base64url(*y));
  } else {
    auto n = bn_param(key, OSSL_PKEY_PARAM_RSA_N, 0);
    auto e = bn_param(key, OSSL_PKEY_PARAM_RSA_E, 0);
    if (!n) return n.error();
    if (!e) return e.error();
    w.key("e").value(base64url(*e)).key("kty").value("RSA").key("n").value(base64url(*n));
  }
  w.end_object();
  return w.take();
}

Result<std::string> jwk_thumbprint(const EVP_PKEY* key) {
  auto jwk = jwk_json(key);
  if (!jwk) return jwk.error();
  return base64url(sha256(*jwk));
}

Result<std::string> sign_jws(const EVP_PKEY* key, const JwsHeader& header,
                             std::string_view payload) {
  auto alg = jws_alg(key);
  if (!alg) return alg.error();
  JsonWriter h;
  h.begin_object().key("alg").value(*alg);
  if (header.kid.empty()) {
    auto jwk = jwk_json(key);
    if (!jwk) return jwk.error();
    h.key("jwk").raw(*jwk);
  } else {
    h.key("kid").value(header.kid);
  }
  if (!header.nonce.empty()) h.key("nonce").value(header.nonce);
  h.key("url").value(header.url).end_object();
  const std::string protected64 = base64url(h.str());
  const std::string payload64 = base64url(payload);
  auto sig = sign_sha256(key, protected64 + "." + payload64);
  if (!sig) return sig.error();
  if (*alg == "ES256") {
    auto raw = der_to_raw_ecdsa(*sig);
    if (!raw) return raw.error();
    return signed_json(protected64, payload64, *raw);
  }
  return signed_json(protected64, payload64, *sig);
}

Result<std::string> external_account_binding(const EVP_PKEY* account_key, const std::string& key_id,
                                             const std::string& hmac_key,
                                             const std::string& new_account_url) {
  if (key_id.empty() || hmac_key.empty())
    return make_error("external account binding needs a key id and a non-empty HMAC key",
                      ErrorKind::invalid_input);
  auto jwk = jwk_json(account_key);
  if (!jwk) return jwk.error();
  JsonWriter h;
  h.begin_object()
      .key("alg")
      .value("HS256")
      .key("kid")
      .value(key_id)
      .key("url")
      .value(new_account_url)
      .end_object();
  const std::string protected64 = base64url(h.str());
  const std::string payload64 = base64url(*jwk);
  const std::string input = protected64 + "." + payload64;
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  size_t len = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, hmac_key.data(), hmac_key.size(),
                reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac.data(),
                mac.size(), &len) == nullptr)
    return make_error("cannot compute the EAB MAC: " + drain_errors(), ErrorKind::crypto);
  return signed_json(protected64, payload64,
                     std::string(reinterpret_cast<const char*>(mac.data()), len));
}

}  // namespace certwatch::pki
