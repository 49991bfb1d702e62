#include "base/idna.h"

#include <idn2.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <memory>

namespace certwatch {
namespace {

struct FreeIdn2 {
  void operator()(char* p) const { idn2_free(p); }
};
using Idn2String = std::unique_ptr<char, FreeIdn2>;

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

bool has_a_label(std::string_view name) {
  for (size_t start = 0; start <= name.size();) {
    const size_t dot = std::min(name.find('.', start), name.size());
    const std::string_view label = name.substr(start, dot - start);
    if (label.size() >= 4 && std::tolower(static_cast<unsigned char>(label[0])) == 'x' &&
        std::tolower(static_cast<unsigned char>(label[1])) == 'n' && label[2] == '-' &&
        label[3] == '-')
      return true;
    start = dot + 1;
  }
  return false;
}

// libidn2's own words are terse ("punycode encoded data will be too large"): the length limits
// are said in DNS terms, the rest keeps its text.
std::string why(int rc) {
  switch (rc) {
    case IDN2_PUNYCODE_BIG_OUTPUT:
    case IDN2_TOO_BIG_LABEL:
      return "a label is longer than 63 octets as an A-label";
    case IDN2_TOO_BIG_DOMAIN:
      return "the name is longer than 253 octets as A-labels";
    case IDN2_ENCODING_ERROR:
      return "not UTF-8";
    default:
      return idn2_strerror(rc);
  }
}

}  // namespace

Result<std::string> host_to_ascii(std::string_view name) {
  if (is_ascii(name) && !has_a_label(name)) return std::string(name);
  const std::string input(name);  // libidn2 wants a NUL-terminated string
  char* raw = nullptr;
  const int rc = idn2_lookup_u8(reinterpret_cast<const uint8_t*>(input.c_str()),
                                reinterpret_cast<uint8_t**>(&raw), IDN2_NONTRANSITIONAL);
  Idn2String out(raw);
  if (rc != IDN2_OK)
    return make_error(
        "'" + input + "' is not a valid internationalised host name (IDNA 2008): " + why(rc),
        ErrorKind::invalid_input);
  return std::string(out.get());
}

std::string host_for_display(std::string_view ascii_name) {
  if (!is_ascii(ascii_name) || !has_a_label(ascii_name)) return std::string(ascii_name);
  const std::string input(ascii_name);
  char* raw = nullptr;
  if (idn2_to_unicode_8z8z(input.c_str(), &raw, 0) != IDN2_OK) {
    idn2_free(raw);
    return input;
  }
  Idn2String unicode(raw);
  // idn2_to_unicode decodes Punycode without judging the result: only a name that converts back
  // to itself is shown in both forms, so a forged "xn--" label is never displayed as text.
  auto back = host_to_ascii(unicode.get());
  std::string lower = input;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (!back || *back != lower) return input;
  return std::string(unicode.get()) + " (" + input + ")";
}

}  // namespace certwatch
