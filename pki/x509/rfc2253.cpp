#include "pki/x509/rfc2253.h"

#include <strings.h>

#include "base/hex.h"

namespace certwatch::pki {
namespace {

Error malformed(std::string_view text, size_t at, const std::string& why) {
  return make_error("name '" + std::string(text) + "': " + why + " at offset " + std::to_string(at),
                    ErrorKind::invalid_input);
}

}  // namespace

Result<std::vector<DnEntry>> parse_rfc2253(std::string_view text) {
  std::vector<DnEntry> out;
  size_t i = 0;
  while (i < text.size()) {
    DnEntry entry;
    const size_t eq = text.find('=', i);
    if (eq == std::string_view::npos || eq == i) return malformed(text, i, "no attribute type");
    entry.type = std::string(text.substr(i, eq - i));
    if (entry.type.find_first_of(",+\\") != std::string::npos)
      return malformed(text, i, "no attribute type");
    i = eq + 1;
    while (i < text.size() && text[i] != ',' && text[i] != '+') {
      if (text[i] != '\\') {
        entry.value += text[i++];
        continue;
      }
      if (i + 1 >= text.size()) return malformed(text, i, "a dangling escape");
      const int hi = hex_digit(text[i + 1]);
      const int lo = i + 2 < text.size() ? hex_digit(text[i + 2]) : -1;
      if (hi >= 0 && lo >= 0) {
        entry.value += static_cast<char>(hi * 16 + lo);
        i += 3;
      } else {
        entry.value += text[i + 1];
        i += 2;
      }
    }
    out.push_back(std::move(entry));
    if (i < text.size()) {
      ++i;  // the separator; a name may not end with one
      if (i == text.size()) return malformed(text, i, "a trailing separator");
    }
  }
  return out;
}

std::string rfc2253_cn(std::string_view text) {
  auto entries = parse_rfc2253(text);
  if (!entries) return {};
  for (const auto& e : *entries)
    if (strcasecmp(e.type.c_str(), "CN") == 0 || e.type == "2.5.4.3") return e.value;
  return {};
}

}  // namespace certwatch::pki
