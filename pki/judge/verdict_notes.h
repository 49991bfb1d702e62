// Parts of the judge's verdict added for issue 13, kept beside pki/judge/judge.cpp so that file
// stays the judge's flow: the finding for a server's file without an end-entity
// certificate, the note that an anchor's OpenSSL trust settings decided a verdict, and the
// client-family predictions of a report. Thread-safety: reentrant.
#pragma once

#include <span>
#include <string>

#include "pki/judge/judge.h"
#include "pki/verify/chain.h"

namespace certwatch::pki {

// chain.no_end_entity for a file said to be a server's or client's (JudgeOptions::expect_leaf)
// that holds only CA certificates.
Finding no_end_entity(std::span<const Certificate> chain, const JudgeOptions& o,
                      const std::string& target);

// "; the trust anchor's OpenSSL trust settings decided it (...)" when they did, else "".
std::string trust_settings_note(const Verdict& v, const ChainAnalysis& a, const TrustIndex& trust);

// JudgeOptions::clients' predictions (pki/verify/clients.h) for the chain as served: the file as it
// is, or for a PKCS#7 set (no order) the path's order. Adds rep.clients and the
// client.<family>.rejects findings.
void add_client_verdicts(std::span<const Certificate> chain, const ChainAnalysis& a, bool unordered,
                         const TrustIndex& trust, const JudgeOptions& options, Report& rep);

}  // namespace certwatch::pki
