// The `watch:` entries of the config: paths to scan and how to judge what they hold.
#include "config/loader_sections.h"

namespace certwatch::config::sections {

void Schema::watch(const Field& f, WatchEntry& out) {
  const auto m =
      r_.map(f, {"path", "recursive", "trust", "host", "purpose", "key", "exclude", "clients"});
  if (const auto* v = m.required("path"))
    if (auto p = r_.path(*v, Need::nothing)) out.path = *p;
  if (const auto* v = m.get("recursive"))
    if (auto b = r_.boolean(*v)) out.recursive = *b;
  if (const auto* v = m.get("trust")) out.trust = r_.paths(*v, Need::file_or_directory);
  if (const auto* v = m.get("host")) out.host = host_name(*v);
  if (const auto* v = m.get("purpose"))
    if (auto i = r_.choice(*v, pki::kPurposeNames))
      out.purpose = *pki::parse_purpose(pki::kPurposeNames[*i]);
  if (const auto* v = m.get("key")) out.key = r_.path(*v, Need::nothing);
  if (const auto* v = m.get("exclude"))
    if (auto globs = r_.strings(*v)) out.exclude = *globs;
  if (const auto* v = m.get("clients")) out.clients = clients(*v);
}

}  // namespace certwatch::config::sections
