// The `issuers:` entries of the config: a certwatch PKI directory or an ACME CA
// (config/acme_schema.cpp reads the `acme:` block).
#include <string>

#include "config/acme_schema.h"
#include "config/loader_sections.h"

namespace certwatch::config::sections {

void Schema::issuer(const Field& f, IssuerEntry& out) {
  const auto m = r_.map(f, {"name", "pki_dir", "ca", "passphrase_file", "pin_file", "acme"});
  if (const auto* v = m.required("name")) out.name = entry_name(*v);
  if (const Field* acme = m.get("acme")) {
    for (std::string_view key : {"pki_dir", "ca", "passphrase_file", "pin_file"})
      if (const auto* v = m.get(key))
        r_.problem(v->key_mark, v->where + ": an ACME issuer has no " + std::string(key) +
                                    " (give either acme: or pki_dir, not both)");
    out.acme = read_acme(r_, *acme);
    return;
  }
  if (m.is_map() && m.get("pki_dir") == nullptr) {
    r_.problem(m.mark(),
               m.where() + ": give pki_dir (a certwatch PKI directory) or acme: (an ACME CA)");
    return;
  }
  if (const auto* v = m.required("pki_dir"))
    if (auto p = r_.path(*v, Need::directory)) out.pki_dir = *p;
  out.ca = out.name;
  if (const auto* v = m.get("ca")) out.ca = entry_name(*v);
  if (const auto* v = m.get("passphrase_file")) out.passphrase_file = r_.path(*v, Need::file);
  if (const auto* v = m.get("pin_file")) {
    if (out.passphrase_file)
      r_.problem(v->key_mark, v->where +
                                  ": give passphrase_file (a CA key file's) or pin_file "
                                  "(the user PIN of the token holding the CA's key), "
                                  "not both");
    out.pin_file = r_.path(*v, Need::file);
  }
}

}  // namespace certwatch::config::sections
