// What the API and the status page say of a certificate and its places (issue 21): a
// certificate's own findings are listed once (Certificate::findings); a place lists only what
// is true of that place, so that one expired certificate in three files reads as one problem,
// while the wrong order of one of those files stays with that file.
// Thread-safety: reads the inventory; call on the io_context thread.
#pragma once

#include <vector>

#include "agent/inventory/certificates.h"

namespace certwatch::agent {

// The place-scope findings of `p`'s entry about this certificate at this place
// (target "<target>#<index>") or about the whole place (target "<target>"), in report order.
std::vector<const pki::Finding*> place_findings(const Place& p);

// The worst severity of the certificate's own findings and of its places' findings: -1 none,
// else a pki::Severity.
int worst_severity(const Certificate& c);

}  // namespace certwatch::agent
