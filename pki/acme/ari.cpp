#include "pki/acme/ari.h"

#include <charconv>
#include <ctime>

#include "pki/acme/jws.h"
#include "pki/x509/ossl_ptr.h"

namespace certwatch::pki {
namespace {

bool digits(std::string_view text, size_t pos, size_t n, int& out) {
  if (pos + n > text.size()) return false;
  auto [end, ec] = std::from_chars(text.data() + pos, text.data() + pos + n, out);
  return ec == std::errc() && end == text.data() + pos + n;
}

}  // namespace

Result<std::string> ari_cert_id(std::string_view leaf_der) {
  const auto* p = reinterpret_cast<const unsigned char*>(leaf_der.data());
  UniquePtr<X509> cert(d2i_X509(nullptr, &p, static_cast<long>(leaf_der.size())));
  if (!cert)
    return make_error("not a DER certificate: " + drain_errors(), ErrorKind::invalid_input);
  const ASN1_OCTET_STRING* keyid = nullptr;
  if (X509_get0_authority_key_id(cert.get()) != nullptr)
    keyid = X509_get0_authority_key_id(cert.get());
  if (keyid == nullptr || ASN1_STRING_length(keyid) == 0)
    return make_error("the certificate has no authority key identifier (ARI needs one)",
                      ErrorKind::invalid_input);
  // The serial's DER content octets: i2d gives tag, length, content; the content is what ARI uses.
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert.get());
  unsigned char* der = nullptr;
  const int len = i2d_ASN1_INTEGER(serial, &der);
  if (len <= 2) return make_error("cannot encode the serial number", ErrorKind::crypto);
  const auto* q = der;
  long content_len = 0;
  int tag = 0, xclass = 0;
  const int flags = ASN1_get_object(&q, &content_len, &tag, &xclass, len);
  std::string content;
  if ((flags & 0x80) == 0)
    content.assign(reinterpret_cast<const char*>(q), static_cast<size_t>(content_len));
  OPENSSL_free(der);
  if (content.empty()) return make_error("cannot decode the serial number", ErrorKind::crypto);
  const std::string aki(reinterpret_cast<const char*>(ASN1_STRING_get0_data(keyid)),
                        static_cast<size_t>(ASN1_STRING_length(keyid)));
  return base64url(aki) + "." + base64url(content);
}

Result<int64_t> parse_rfc3339(std::string_view text) {
  auto bad = [&] {
    return make_error("'" + std::string(text) + "' is not an RFC 3339 timestamp",
                      ErrorKind::invalid_input);
  };
  std::tm tm{};
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!digits(text, 0, 4, year) || text.size() < 20 || text[4] != '-' ||
      !digits(text, 5, 2, month) || text[7] != '-' || !digits(text, 8, 2, day) ||
      (text[10] != 'T' && text[10] != 't') || !digits(text, 11, 2, hour) || text[13] != ':' ||
      !digits(text, 14, 2, minute) || text[16] != ':' || !digits(text, 17, 2, second))
    return bad();
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
    return bad();
  size_t pos = 19;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    if (pos == start) return bad();
  }
  int64_t offset = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z') && pos + 1 == text.size()) {
    // UTC
  } else if (pos + 6 == text.size() && (text[pos] == '+' || text[pos] == '-') &&
             text[pos + 3] == ':') {
    int oh = 0, om = 0;
    if (!digits(text, pos + 1, 2, oh) || !digits(text, pos + 4, 2, om) || oh > 23 || om > 59)
      return bad();
    offset = (text[pos] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
  } else {
    return bad();
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<int64_t>(::timegm(&tm)) - offset;
}

}  // namespace certwatch::pki
