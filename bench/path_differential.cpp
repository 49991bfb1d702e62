// bench/path_differential: certwatch's trust verdict against the real `openssl verify
// -CAfile T -untrusted F F` on random hierarchies (issue 23, acceptance 1: 50,000 in the bench,
// 2,000 in CI through tests/pki/verify/path_differential_test.cpp). The generator and the
// comparison are the test suite's (tests/support/hierarchy_generator.h, path_differential.h);
// this runs them in batches (files of one batch at a time on disk) and prints the tally and
// every disagreeing seed, which then belongs in the test's regression table.
//
//   build/bench/path_differential [--count 50000] [--first-seed 1] [--batch 2000] [--workers 2]
#include "support/path_differential.h"

#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "support/fixtures.h"

int main(int argc, char** argv) {
  uint64_t count = 50000, first = 1, batch = 2000;
  int workers = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const uint64_t v = std::strtoull(argv[i + 1], nullptr, 10);
    if (a == "--count")
      count = v;
    else if (a == "--first-seed")
      first = v;
    else if (a == "--batch")
      batch = v;
    else if (a == "--workers")
      workers = static_cast<int>(v);
    else {
      std::fprintf(stderr, "usage: %s [--count N] [--first-seed S] [--batch B] [--workers W]\n",
                   argv[0]);
      return 2;
    }
  }
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  testing::DifferentialTally total;
  for (uint64_t from = first; from < first + count; from += batch) {
    std::vector<uint64_t> seeds;
    for (uint64_t s = from; s < first + count && s < from + batch; ++s) seeds.push_back(s);
    testing::TempDir tmp;
    const testing::DifferentialTally t =
        testing::run_path_differential(seeds, tmp.path(), now, workers);
    total.cases += t.cases;
    total.agreements += t.agreements;
    total.openssl_ok += t.openssl_ok;
    total.seconds += t.seconds;
    total.generate_seconds += t.generate_seconds;
    total.judge_seconds += t.judge_seconds;
    total.openssl_wait += t.openssl_wait;
    for (const auto& d : t.disagreements) {
      std::printf("DISAGREE seed %llu (%s): openssl %s, certwatch trusted=%d verdict=%d\n%s\n",
                  static_cast<unsigned long long>(d.seed), d.shape.c_str(),
                  d.openssl ? "OK" : "refuses", d.trusted ? 1 : 0, d.certwatch ? 1 : 0,
                  d.detail.c_str());
      total.disagreements.push_back(d);
    }
    std::printf("batch %llu..%llu: %s\n", static_cast<unsigned long long>(seeds.front()),
                static_cast<unsigned long long>(seeds.back()), t.text().c_str());
    std::fflush(stdout);
  }
  std::printf("path differential: %s (%.0f hierarchies/s)\n", total.text().c_str(),
              total.seconds > 0 ? total.cases / total.seconds : 0.0);
  return total.disagreements.empty() ? 0 : 1;
}
