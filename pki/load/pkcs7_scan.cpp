#include "pki/load/pkcs7_scan.h"

#include <openssl/asn1.h>

#include <algorithm>

namespace certwatch::pki {
namespace {

// One TLV at `p`: its tag, class, constructed bit and the span of its contents. Definite
// lengths only (DER).
struct Tlv {
  int tag = 0;
  int cls = 0;
  bool constructed = false;
  const unsigned char* start = nullptr;    // the header
  const unsigned char* content = nullptr;  // after the header
  const unsigned char* end = nullptr;      // after the contents
};

bool read_tlv(const unsigned char* p, const unsigned char* limit, Tlv& t) {
  if (p >= limit) return false;
  const unsigned char* q = p;
  long len = 0;
  const int rc = ASN1_get_object(&q, &len, &t.tag, &t.cls, static_cast<long>(limit - p));
  if ((rc & 0x80) != 0 || rc == 0x21 || len > limit - q) return false;  // error, indefinite
  t.constructed = (rc & V_ASN1_CONSTRUCTED) != 0;
  t.start = p;
  t.content = q;
  t.end = q + len;
  return true;
}

bool is(const Tlv& t, int cls, int tag, bool constructed) {
  return t.cls == cls && t.tag == tag && t.constructed == constructed;
}

}  // namespace

std::optional<std::vector<std::string_view>> pkcs7_certificate_ders(std::string_view der) {
  static constexpr unsigned char kSignedData[] = {0x2A, 0x86, 0x48, 0x86, 0xF7,
                                                  0x0D, 0x01, 0x07, 0x02};
  const auto* begin = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* limit = begin + der.size();
  Tlv info, oid, explicit0, signed_data, field;
  // ContentInfo ::= SEQUENCE { contentType OID (signedData), content [0] EXPLICIT SignedData }
  if (!read_tlv(begin, limit, info) || !is(info, V_ASN1_UNIVERSAL, V_ASN1_SEQUENCE, true))
    return std::nullopt;
  if (!read_tlv(info.content, info.end, oid) || !is(oid, V_ASN1_UNIVERSAL, V_ASN1_OBJECT, false) ||
      oid.end - oid.content != sizeof kSignedData || !std::equal(oid.content, oid.end, kSignedData))
    return std::nullopt;
  if (!read_tlv(oid.end, info.end, explicit0) || !is(explicit0, V_ASN1_CONTEXT_SPECIFIC, 0, true))
    return std::nullopt;
  // SignedData ::= SEQUENCE { version, digestAlgorithms SET, contentInfo SEQUENCE,
  //                           certificates [0] IMPLICIT SET OF Certificate OPTIONAL, ... }
  if (!read_tlv(explicit0.content, explicit0.end, signed_data) ||
      !is(signed_data, V_ASN1_UNIVERSAL, V_ASN1_SEQUENCE, true))
    return std::nullopt;
  const unsigned char* p = signed_data.content;
  for (int skip = 0; skip < 3; ++skip) {  // version, digestAlgorithms, contentInfo
    if (!read_tlv(p, signed_data.end, field)) return std::nullopt;
    p = field.end;
  }
  std::vector<std::string_view> out;
  if (!read_tlv(p, signed_data.end, field) || !is(field, V_ASN1_CONTEXT_SPECIFIC, 0, true))
    return out;  // no certificates
  for (const unsigned char* c = field.content; c < field.end;) {
    Tlv cert;
    if (!read_tlv(c, field.end, cert) || !is(cert, V_ASN1_UNIVERSAL, V_ASN1_SEQUENCE, true))
      return std::nullopt;
    out.emplace_back(reinterpret_cast<const char*>(cert.start),
                     static_cast<size_t>(cert.end - cert.start));
    c = cert.end;
  }
  return out;
}

}  // namespace certwatch::pki
