#include "agent/http/certificate_view.h"

#include <algorithm>
#include <string>

#include "pki/judge/finding_scope.h"

namespace certwatch::agent {

std::vector<const pki::Finding*> place_findings(const Place& p) {
  std::vector<const pki::Finding*> out;
  const pki::CertRecord* mine = p.entry().certs[p.position].get();
  for (const auto& f : p.entry().report.findings)
    if (!pki::is_certificate_finding(f.id) &&
        (f.target == p.target().id ||
         named_certificate(p.entry(), p.target().id, f.target) == mine))
      out.push_back(&f);
  return out;
}

int worst_severity(const Certificate& c) {
  int worst = -1;
  for (const auto& f : c.findings()) worst = std::max(worst, static_cast<int>(f.severity));
  for (const auto& p : c.places)
    for (const auto* f : place_findings(p)) worst = std::max(worst, static_cast<int>(f->severity));
  return worst;
}

}  // namespace certwatch::agent
