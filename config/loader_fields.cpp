// The field readers several sections of the config share (config/loader_sections.h).
#include <algorithm>
#include <cctype>

#include "base/idna.h"
#include "config/address.h"
#include "config/loader_sections.h"
#include "pki/verify/clients.h"
#include "pki/x509/dn.h"

namespace certwatch::config::sections {

bool is_name(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

// A list of client families (pki/verify/clients.h), each checked where it stands; duplicates are
// kept once.
std::vector<std::string> Schema::clients(const Field& f) {
  std::vector<std::string> out;
  for (const Field& item : r_.list(f)) {
    auto i = r_.choice(item, pki::client_families());
    if (!i) continue;
    std::string name(pki::client_families()[*i]);
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(std::move(name));
  }
  return out;
}

std::optional<HostPort> Schema::host_port(const Field& f) {
  auto s = r_.string(f);
  if (!s) return std::nullopt;
  auto hp = parse_host_port(*s);
  if (hp) return *hp;
  r_.problem(f.mark(), f.where + ": " + hp.error().message);
  return std::nullopt;
}

std::optional<std::string> Schema::host_name(const Field& f) {
  auto s = r_.string(f);
  if (!s) return std::nullopt;
  if (pki::normalize_ip(*s)) return s;
  // Certificates and SNI carry A-labels: a U-label name is kept in its "xn--" form.
  auto ascii = certwatch::host_to_ascii(*s);
  if (!ascii) {
    r_.problem(f.mark(), f.where + ": " + ascii.error().message);
    return std::nullopt;
  }
  auto dns = pki::check_dns_name(*ascii);
  if (dns) return *ascii;
  r_.problem(f.mark(), f.where + ": '" + *s + "' is neither a DNS name nor an IP address (" +
                           dns.error().message + ")");
  return std::nullopt;
}

std::string Schema::entry_name(const Field& f) {
  auto s = r_.string(f);
  if (!s) return {};
  if (!is_name(*s)) {
    r_.problem(f.mark(), f.where + ": bad name '" + *s + "': use letters, digits, '-', '_', '.'");
    return {};
  }
  return *s;
}

// A non-empty string that passes `ok`, else "bad WHAT 'value': expected EXPECTED".
std::optional<std::string> Schema::checked(const Field& f, bool (*ok)(std::string_view),
                                           std::string_view what, std::string_view expected) {
  auto s = r_.string(f);
  if (!s || ok(*s)) return s;
  r_.problem(f.mark(), f.where + ": bad " + std::string(what) + " '" + *s + "': expected " +
                           std::string(expected));
  return std::nullopt;
}

}  // namespace certwatch::config::sections
