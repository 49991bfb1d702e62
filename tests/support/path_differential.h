// The path-building differential (issue 23): random hierarchies (hierarchy_generator.h)
// judged by certwatch and by the real `openssl verify -CAfile T -untrusted F F`, run as
// separate processes on `workers` cores while certwatch judges in this process. Shared by
// tests/pki/verify/path_differential_test.cpp (2,000 hierarchies in CI) and
// bench/path_differential.cpp (50,000).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "pki/judge/report.h"

namespace testing {

// certwatch's trust verdict on a served chain: nothing on the leaf's path says a client
// refuses it. The critical findings that say so: the path cannot be built or trusted
// (chain.incomplete, chain.untrusted, chain.verify_failed) and the verification lints of a
// certificate on that path (expiry, pathLen, keyCertSign). Findings about certificates off
// the path (an expired extra) or about the file's order are not about trust.
bool certwatch_trusts(const certwatch::pki::Report& r);

struct DifferentialOutcome {
  uint64_t seed = 0;
  bool openssl = false;    // `openssl verify` said OK
  bool trusted = false;    // Report::trusted
  bool certwatch = false;  // certwatch_trusts()
  std::string shape;
  std::string detail;  // on disagreement: openssl's output and certwatch's findings
  bool agrees() const { return openssl == trusted && openssl == certwatch; }
};

struct DifferentialTally {
  int cases = 0;
  int agreements = 0;
  int openssl_ok = 0;           // how many chains openssl accepted (the mix of the sample)
  double seconds = 0;           // all of it, wall clock
  double generate_seconds = 0;  // making and writing the hierarchies
  double judge_seconds = 0;     // certwatch's judgements (while openssl runs)
  double openssl_wait = 0;      // waiting for openssl after certwatch was done
  std::vector<DifferentialOutcome> disagreements;
  std::string text() const;  // "2000 hierarchies, 2000 agree (100.00 %), ..."
};

// Judges the hierarchies of `seeds` both ways, in `dir` (files are left there). `now` is the
// verification time for both (openssl -attime).
DifferentialTally run_path_differential(const std::vector<uint64_t>& seeds,
                                        const std::filesystem::path& dir, int64_t now,
                                        int workers = 2);

}  // namespace testing
