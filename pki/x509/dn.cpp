#include "pki/x509/dn.h"

#include <arpa/inet.h>
#include <openssl/objects.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "base/idna.h"

namespace certwatch::pki {

Result<std::string> normalize_ip(std::string_view text) {
  const std::string s(text);
  std::array<unsigned char, 16> buf{};
  std::array<char, INET6_ADDRSTRLEN> out{};
  for (const int family : {AF_INET, AF_INET6}) {
    if (inet_pton(family, s.c_str(), buf.data()) == 1 &&
        inet_ntop(family, buf.data(), out.data(), out.size()) != nullptr)
      return std::string(out.data());
  }
  return make_error("'" + s + "' is not an IPv4 or IPv6 address");
}

Result<void> check_dns_name(std::string_view name) {
  const std::string host(name);
  if (host.empty()) return make_error("empty DNS name");
  if (host.size() > 253) return make_error("DNS name longer than 253 characters: " + host);
  if (normalize_ip(host)) return make_error("an IP address must be written IP:" + host);
  size_t start = 0;
  int label_no = 0;
  for (;;) {
    size_t dot = host.find('.', start);
    std::string label =
        host.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (label.empty()) return make_error("empty label in DNS name '" + host + "'");
    if (label.size() > 63)
      return make_error("label longer than 63 characters in DNS name '" + host + "'");
    if (label == "*") {
      if (label_no != 0 || dot == std::string::npos)
        return make_error("wildcard only as the whole first label of a longer name: '" + host +
                          "'");
    } else {
      for (char c : label) {
        auto u = static_cast<unsigned char>(c);
        if (!std::isalnum(u) && c != '-' && c != '_')
          return make_error("invalid character '" + std::string(1, c) + "' in DNS name '" + host +
                            "'");
      }
      if (label.front() == '-' || label.back() == '-')
        return make_error("label starts or ends with '-' in DNS name '" + host + "'");
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
    ++label_no;
  }
  return {};
}

Result<std::vector<DnEntry>> parse_dn(std::string_view text) {
  if (text.empty()) return make_error("empty subject: expected /CN=name or /C=DE/O=org/CN=name");
  if (text.front() != '/')
    return make_error("subject must start with '/' (e.g. /C=DE/O=org/CN=name), got '" +
                      std::string(text) + "'");
  std::vector<DnEntry> out;
  size_t i = 1;
  while (i <= text.size()) {
    // One component: up to the next unescaped '/'.
    std::string comp;
    size_t j = i;
    for (; j < text.size() && text[j] != '/'; ++j) {
      if (text[j] == '\\') {
        if (j + 1 >= text.size()) return make_error("subject ends with a lone backslash");
        comp.push_back(text[++j]);
        continue;
      }
      comp.push_back(text[j]);
    }
    const size_t pos = i;
    i = j + 1;
    if (comp.empty()) {
      if (j >= text.size()) break;  // a trailing "/" is tolerated
      return make_error("empty component at offset " + std::to_string(pos) + " of the subject");
    }
    auto eq = comp.find('=');
    if (eq == std::string::npos)
      return make_error("component '" + comp + "' of the subject has no '=' (expected TYPE=value)");
    DnEntry e{comp.substr(0, eq), comp.substr(eq + 1)};
    if (e.type.empty()) return make_error("component '" + comp + "' of the subject has no type");
    const int nid = OBJ_txt2nid(e.type.c_str());
    if (nid == NID_undef)
      return make_error("unknown attribute type '" + e.type +
                        "' in the subject (C, ST, L, O, OU, CN, ...)");
    e.type = OBJ_nid2sn(nid);  // canonical short name: "commonName" -> "CN"
    if (e.value.empty())
      return make_error("attribute " + e.type + " of the subject has an empty value");
    if (nid == NID_countryName) {
      if (e.value.size() != 2 || !std::isalpha(static_cast<unsigned char>(e.value[0])) ||
          !std::isalpha(static_cast<unsigned char>(e.value[1])))
        return make_error("country (C) must be a two-letter code, got '" + e.value + "'");
    }
    if (nid == NID_commonName && e.value.size() > 64)
      return make_error("CN is longer than 64 characters (RFC 5280 upper bound)");
    if (e.value.size() > 128)
      return make_error("attribute " + e.type + " of the subject is longer than 128 characters");
    out.push_back(std::move(e));
  }
  if (out.empty()) return make_error("subject has no attributes");
  return out;
}

Result<UniquePtr<X509_NAME>> to_x509_name(const std::vector<DnEntry>& dn) {
  UniquePtr<X509_NAME> name(X509_NAME_new());
  if (!name) return make_error("out of memory");
  for (const auto& e : dn) {
    const int nid = OBJ_txt2nid(e.type.c_str());
    const int type = nid == NID_countryName ? V_ASN1_PRINTABLESTRING : MBSTRING_UTF8;
    if (X509_NAME_add_entry_by_NID(name.get(), nid, type,
                                   reinterpret_cast<const unsigned char*>(e.value.data()),
                                   static_cast<int>(e.value.size()), -1, 0) != 1)
      return make_error("cannot encode " + e.type + "=" + e.value + ": " + drain_errors());
  }
  return name;
}

std::string format_dn(const std::vector<DnEntry>& dn) {
  std::string out;
  for (const auto& e : dn) {
    out += '/';
    out += e.type;
    out += '=';
    for (char c : e.value) {
      if (c == '/' || c == '\\') out += '\\';
      out += c;
    }
  }
  return out;
}

Result<void> validate_san(const SubjectAltName& san) {
  switch (san.type) {
    case SubjectAltName::Type::dns:
      return check_dns_name(san.value);
    case SubjectAltName::Type::ip:
      if (auto ip = normalize_ip(san.value); !ip) return ip.error();
      return {};
    case SubjectAltName::Type::email: {
      auto at = san.value.find('@');
      if (at == std::string::npos || at == 0 || at + 1 >= san.value.size() ||
          san.value.find_first_of(" \t,") != std::string::npos)
        return make_error("'" + san.value + "' is not an e-mail address");
      return {};
    }
    case SubjectAltName::Type::uri: {
      auto colon = san.value.find(':');
      if (colon == std::string::npos || colon == 0 ||
          san.value.find_first_of(" \t") != std::string::npos)
        return make_error("'" + san.value + "' is not a URI");
      return {};
    }
    case SubjectAltName::Type::other:
      break;
  }
  return make_error("unsupported SAN type (DNS, IP, email or URI)");
}

Result<SubjectAltName> parse_san(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos)
    return make_error("SAN '" + std::string(text) +
                      "' has no type: expected DNS:name or IP:address");
  std::string type(text.substr(0, colon));
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  SubjectAltName san;
  san.value = std::string(text.substr(colon + 1));
  if (type == "dns") {
    san.type = SubjectAltName::Type::dns;
    // Certificates hold A-labels: a U-label typed here is issued as its "xn--" form.
    auto ascii = host_to_ascii(san.value);
    if (!ascii) return make_error("SAN '" + std::string(text) + "': " + ascii.error().message);
    san.value = std::move(*ascii);
    std::transform(san.value.begin(), san.value.end(), san.value.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  } else if (type == "ip") {
    san.type = SubjectAltName::Type::ip;
  } else if (type == "email") {
    san.type = SubjectAltName::Type::email;
  } else if (type == "uri") {
    san.type = SubjectAltName::Type::uri;
  } else {
    return make_error("SAN '" + std::string(text) + "': unknown type '" +
                      std::string(text.substr(0, colon)) + "' (DNS, IP, email or URI)");
  }
  auto ok = validate_san(san);
  if (!ok) return make_error("SAN '" + std::string(text) + "': " + ok.error().message);
  // Canonical text form, so "::0001" and "::1" compare equal in the ledger and duplicates.
  if (san.type == SubjectAltName::Type::ip) san.value = *normalize_ip(san.value);
  return san;
}

}  // namespace certwatch::pki
