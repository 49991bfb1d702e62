// pki::Certificate: a small immutable domain type over one X509. Copies share the underlying
// object (reference counted). Raw X509* is reachable through native() for pki/ code only.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "pki/x509/ossl_ptr.h"

namespace certwatch::pki {

struct Validity {
  int64_t not_before = 0;  // POSIX seconds
  int64_t not_after = 0;
  int64_t lifetime() const { return not_after - not_before; }
};

struct SubjectAltName {
  enum class Type { dns, ip, email, uri, other };
  Type type = Type::other;
  std::string value;  // IP addresses in textual form
  bool operator==(const SubjectAltName&) const = default;
};
std::string to_string(const SubjectAltName& san);  // "DNS:x", "IP:1.2.3.4", ...
// One GENERAL_NAME as a SubjectAltName, decoded in one place for certificates and CSRs: DNS,
// email and URI as their IA5 bytes, an IP of 4 or 16 octets in textual form, any other type
// as Type::other. `ip_ok` is false for an IP of another length (its value then reads
// "<invalid N-byte address>").
struct DecodedSan {
  SubjectAltName san;
  bool ip_ok = true;
};
DecodedSan decode_general_name(const GENERAL_NAME& gn);
// SANs as one comma-separated value ("DNS:x,IP:1.2.3.4"): a ledger column, a metric label.
std::string join_sans(const std::vector<std::string>& sans);

// Key usage bits as in RFC 5280 4.2.1.3 (our own names, not OpenSSL's macros).
struct KeyUsage {
  bool present = false;
  bool critical = false;
  bool digital_signature = false, non_repudiation = false, key_encipherment = false,
       data_encipherment = false, key_agreement = false, key_cert_sign = false, crl_sign = false;
};

struct PublicKeyInfo {
  std::string type;  // "RSA", "EC", "ED25519", "ED448", other: OpenSSL's name
  int bits = 0;
  std::string curve;  // EC only, e.g. "prime256v1"
};

// The PublicKeyInfo of a decoded key (a certificate's, or a private key's public half);
// empty type for nullptr.
PublicKeyInfo public_key_info(const EVP_PKEY* key);
// "EC P-256", "EC P-384", "RSA 2048", "ED25519"... ("unknown" for an empty type).
std::string describe_public_key(const PublicKeyInfo& info);

class Certificate {
 public:
  static Result<Certificate> from_pem(std::string_view pem);  // the first CERTIFICATE block
  static Result<Certificate> from_der(std::span<const unsigned char> der);
  // As from_der, but an end-entity certificate is parsed without decoding its public key,
  // which in OpenSSL 3.0 costs more than a signature verification (see certificate.cpp).
  // Everything this class offers works the same on such a certificate; the key is decoded
  // on first use of public_key_object(). CA and self-issued certificates, and anything
  // OpenSSL's own parser would treat differently, are parsed in full. Used by the loader.
  // `consumed` (if given) receives the length of the certificate's encoding, for inputs of
  // concatenated certificates. The error text is OpenSSL's.
  static Result<Certificate> from_der_deferred_key(std::span<const unsigned char> der,
                                                   size_t* consumed = nullptr);
  explicit Certificate(UniquePtr<X509> x);  // takes ownership; x must not be null

  // Names: one-line RFC 2253 form ("CN=x,O=y") and the last CN ("" if none).
  std::string subject() const;
  std::string issuer() const;
  std::string subject_cn() const;
  std::string issuer_cn() const;
  std::string serial_hex() const;  // upper-case hex, no separators
  std::string sha256_hex() const;  // lower-case hex fingerprint of the DER
  // The same fingerprint in binary, computed once when the object is made (chain building
  // and the VerifyCache key on it many times per certificate).
  using Sha256 = std::array<unsigned char, 32>;
  const Sha256& sha256() const { return sha256_; }
  std::string spki_sha256_hex() const;  // fingerprint of the public key (SubjectPublicKeyInfo)
  Validity validity() const;
  int version() const;  // 1, 2 or 3
  std::vector<SubjectAltName> sans() const;
  bool is_ca() const;  // basicConstraints CA:TRUE
  bool has_basic_constraints() const;
  bool basic_constraints_critical() const;
  std::optional<long> path_len() const;  // pathLenConstraint, if set on a CA
  KeyUsage key_usage() const;
  bool has_eku() const;
  std::vector<std::string> eku() const;  // short names: "serverAuth", "clientAuth", ...
  std::string ski_hex() const;           // "" if absent
  std::string aki_keyid_hex() const;     // "" if absent
  bool self_issued() const;              // subject == issuer
  PublicKeyInfo public_key() const;
  std::string key_description() const;  // describe_key's words: "EC P-256", "RSA 2048"...
  // The public key; nullptr if it cannot be decoded. For a certificate parsed with a
  // deferred key this is decoded once, on first call, and OpenSSL's own X509_get0_pubkey on
  // native() stays nullptr: pki/ code asks here, never X509_get0_pubkey(c.native()).
  EVP_PKEY* public_key_object() const;
  // True while the X509 holds no decoded key (from_der_deferred_key of an end-entity).
  bool key_deferred() const { return state_->deferred; }
  // This certificate parsed in full (itself if it is): for handing to code that calls
  // OpenSSL on native() as an issuer, such as an X509_STORE of trust anchors.
  Certificate with_key_decoded() const;
  std::string signature_algorithm() const;  // e.g. "ecdsa-with-SHA256"
  std::vector<unsigned char> der() const;
  std::string pem() const;

  // True if `issuer` has signed this certificate (names match, and the signature verifies).
  bool signed_by(const Certificate& issuer) const;
  // Identity of the DER encoding.
  bool same_as(const Certificate& other) const;

  X509* native() const { return state_->x.get(); }

 private:
  // Shared by copies: the X509 and, for a deferred key, the key once decoded.
  struct State {
    UniquePtr<X509> x;
    bool deferred = false;
    mutable std::once_flag key_once;
    mutable UniquePtr<EVP_PKEY> key;  // deferred only
  };
  Certificate(UniquePtr<X509> x, bool deferred);
  std::optional<PublicKeyInfo> public_key_from_encoding() const;

  std::shared_ptr<State> state_;
  Sha256 sha256_{};  // of the DER; all zero only if OpenSSL could not encode it
};

// ASN1_TIME to POSIX seconds.
int64_t to_unix(const ASN1_TIME* t);

}  // namespace certwatch::pki
