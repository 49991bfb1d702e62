#include "pki/sign/pkcs11_uri.h"

#include <cctype>
#include <string>
#include <vector>

namespace certwatch::pki {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> percent_decode(std::string_view in, const std::string& attr) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    const int hi = i + 2 < in.size() ? hex_value(in[i + 1]) : -1;
    const int lo = i + 2 < in.size() ? hex_value(in[i + 2]) : -1;
    if (hi < 0 || lo < 0)
      return make_error("PKCS#11 URI: attribute '" + attr + "' has a bad percent escape",
                        ErrorKind::invalid_input);
    out += static_cast<char>(hi << 4 | lo);
    i += 2;
  }
  return out;
}

// RFC 7512's unreserved characters plus those it allows unescaped in values.
bool plain(unsigned char c, bool query) {
  if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') return true;
  if (c == ':' || c == '[' || c == ']' || c == '@' || c == '!' || c == '$' || c == '\'' ||
      c == '(' || c == ')' || c == '*' || c == '+' || c == ',' || c == '=')
    return true;
  return query ? (c == '/' || c == '?' || c == '|') : c == '&';
}

std::string percent_encode(std::string_view in, bool query, bool all = false) {
  static const char* digits = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : in) {
    if (!all && plain(c, query) && c != ';' && c != '&' && c != '=') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 15];
    }
  }
  return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    const auto p = s.find(sep);
    out.push_back(s.substr(0, p));
    if (p == std::string_view::npos) break;
    s.remove_prefix(p + 1);
  }
  return out;
}

}  // namespace

bool is_pkcs11_uri(std::string_view s) {
  static constexpr std::string_view scheme = "pkcs11:";
  if (s.size() < scheme.size()) return false;
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != scheme[i]) return false;
  return true;
}

Result<Pkcs11Uri> parse_pkcs11_uri(std::string_view text) {
  if (!is_pkcs11_uri(text))
    return make_error("'" + std::string(text) + "' is not a PKCS#11 URI (pkcs11:...)",
                      ErrorKind::invalid_input);
  std::string_view rest = text.substr(7);
  std::string_view query;
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  Pkcs11Uri uri;
  auto set_once = [&](std::string& field, const std::string& name,
                      std::string_view raw) -> Result<void> {
    if (!field.empty())
      return make_error("PKCS#11 URI: attribute '" + name + "' is given twice",
                        ErrorKind::invalid_input);
    auto v = percent_decode(raw, name);
    if (!v) return v.error();
    if (v->empty())
      return make_error("PKCS#11 URI: attribute '" + name + "' is empty", ErrorKind::invalid_input);
    field = std::move(*v);
    return {};
  };
  if (!rest.empty())
    for (std::string_view part : split(rest, ';')) {
      const auto eq = part.find('=');
      if (eq == std::string_view::npos)
        return make_error("PKCS#11 URI: '" + std::string(part) + "' is not NAME=VALUE",
                          ErrorKind::invalid_input);
      const std::string name(part.substr(0, eq));
      const std::string_view value = part.substr(eq + 1);
      Result<void> ok;
      if (name == "token") {
        ok = set_once(uri.token, name, value);
      } else if (name == "manufacturer") {
        ok = set_once(uri.manufacturer, name, value);
      } else if (name == "serial") {
        ok = set_once(uri.serial, name, value);
      } else if (name == "model") {
        ok = set_once(uri.model, name, value);
      } else if (name == "object") {
        ok = set_once(uri.object, name, value);
      } else if (name == "id") {
        ok = set_once(uri.id, name, value);
      } else if (name == "type") {
        auto v = percent_decode(value, name);
        if (!v) return v.error();
        if (*v != "private")
          return make_error(
              "PKCS#11 URI: type=" + *v + ": a CA key is a private key (type=private, or no type)",
              ErrorKind::invalid_input);
      } else {
        return make_error("PKCS#11 URI: attribute '" + name +
                              "' is not understood (token, manufacturer, serial, model, object, "
                              "id, type; ?module-path, pin-source)",
                          ErrorKind::invalid_input);
      }
      if (!ok) return ok.error();
    }
  if (!query.empty())
    for (std::string_view part : split(query, '&')) {
      const auto eq = part.find('=');
      const std::string name(part.substr(0, eq));
      const std::string_view value = eq == std::string_view::npos ? "" : part.substr(eq + 1);
      Result<void> ok;
      if (name == "pin-value") {
        return make_error(
            "PKCS#11 URI: pin-value is refused: the URI is stored and logged; give the PIN in "
            "a file (pin-source=file:F, --pin-file F) or a systemd credential",
            ErrorKind::invalid_input);
      } else if (name == "module-path") {
        ok = set_once(uri.module_path, name, value);
      } else if (name == "pin-source") {
        ok = set_once(uri.pin_source, name, value);
        if (ok && uri.pin_source.rfind("file:", 0) == 0) uri.pin_source.erase(0, 5);
        if (ok && uri.pin_source.rfind("//", 0) == 0) uri.pin_source.erase(0, 2);
        if (ok && (uri.pin_source.empty() || uri.pin_source.front() != '/'))
          return make_error("PKCS#11 URI: pin-source must name a file by its absolute path",
                            ErrorKind::invalid_input);
      } else {
        return make_error("PKCS#11 URI: query attribute '" + name +
                              "' is not understood (module-path, pin-source)",
                          ErrorKind::invalid_input);
      }
      if (!ok) return ok.error();
    }
  if (uri.object.empty() && uri.id.empty())
    return make_error("PKCS#11 URI: name the key with object=LABEL or id=%XX...",
                      ErrorKind::invalid_input);
  if (uri.module_path.empty())
    return make_error(
        "PKCS#11 URI: name the token's library with ?module-path=/path/to/module.so (e.g. "
        "/usr/lib/softhsm/libsofthsm2.so)",
        ErrorKind::invalid_input);
  return uri;
}

std::string Pkcs11Uri::text() const {
  std::string out = "pkcs11:";
  std::string sep;
  auto path = [&](const char* name, const std::string& v, bool all = false) {
    if (v.empty()) return;
    out += sep + name + "=" + percent_encode(v, false, all);
    sep = ";";
  };
  path("token", token);
  path("manufacturer", manufacturer);
  path("serial", serial);
  path("model", model);
  path("object", object);
  path("id", id, true);
  out += sep + "type=private";
  out += "?module-path=" + percent_encode(module_path, true);
  if (!pin_source.empty()) out += "&pin-source=file:" + percent_encode(pin_source, true);
  return out;
}

}  // namespace certwatch::pki
