// Issue 23, acceptance 1: certwatch's trust verdict against the real `openssl verify` on
// random hierarchies (tests/support/hierarchy_generator.h). Every seed that ever disagreed
// stays in the table below as a fixed regression case; the sweep runs 2,000 seeds in CI
// (bench/path_differential.cpp runs 50,000). CERTWATCH_PATHS_FIRST_SEED moves the sweep to
// other seeds when hunting for new disagreements.
#include "support/path_differential.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "support/fixtures.h"

namespace {

// Seeds whose hierarchies disagreed with openssl verify (the generator as it is now; a change
// to the generator's draws changes what a seed makes, so this table is then redone by running
// the sweep against the code before the fix). The 71 of seeds 1-2000 below disagreed with the
// walk certwatch did before it took OpenSSL's path (issue 23): it followed a served
// cross-signed copy, link certificate or same-name CA past a trusted issuer (chain.incomplete,
// chain.untrusted, pathLen or expiry on that path), or took an OpenSSL failure on its path as
// explained by an expiry finding off the path it had walked.
constexpr uint64_t kPathRegressionSeeds[] = {
    9,    19,   31,   95,   117,  121,  152,  167,  247,  278,  353,  383,  478,  559,  564,
    682,  693,  766,  805,  816,  823,  851,  853,  884,  887,  901,  950,  967,  987,  1001,
    1010, 1117, 1139, 1143, 1169, 1185, 1187, 1194, 1203, 1234, 1247, 1249, 1276, 1302, 1307,
    1416, 1436, 1490, 1500, 1525, 1534, 1542, 1544, 1585, 1604, 1675, 1705, 1754, 1779, 1787,
    1799, 1803, 1814, 1819, 1824, 1854, 1871, 1874, 1939, 1965, 1984,
};

void require_agreement(const testing::DifferentialTally& tally) {
  std::printf("path differential: %s\n", tally.text().c_str());
  for (const auto& d : tally.disagreements)
    UNSCOPED_INFO("seed " << d.seed << " (" << d.shape << "): openssl "
                          << (d.openssl ? "OK" : "refuses") << ", certwatch trusted=" << d.trusted
                          << " findings-verdict=" << d.certwatch << "\n"
                          << d.detail);
  CHECK(tally.disagreements.empty());
  CHECK(tally.agreements == tally.cases);
}

uint64_t path_sweep_first_seed() {
  const char* v = std::getenv("CERTWATCH_PATHS_FIRST_SEED");
  return v != nullptr ? std::strtoull(v, nullptr, 10) : 1;
}

}  // namespace

TEST_CASE("path building: every seed that ever disagreed with openssl verify agrees",
          "[chain][paths]") {
  testing::TempDir tmp;
  const std::vector<uint64_t> seeds(std::begin(kPathRegressionSeeds),
                                    std::end(kPathRegressionSeeds));
  require_agreement(
      testing::run_path_differential(seeds, tmp.path(), static_cast<int64_t>(std::time(nullptr))));
}

TEST_CASE("path building: 2000 random hierarchies agree with openssl verify",
          "[chain][paths][differential]") {
  testing::TempDir tmp;
  std::vector<uint64_t> seeds;
  for (uint64_t s = path_sweep_first_seed(); seeds.size() < 2000; ++s) seeds.push_back(s);
  const auto tally =
      testing::run_path_differential(seeds, tmp.path(), static_cast<int64_t>(std::time(nullptr)));
  require_agreement(tally);
  // Both verdicts must be well represented, or the sweep proves little.
  CHECK(tally.openssl_ok > tally.cases / 5);
  CHECK(tally.cases - tally.openssl_ok > tally.cases / 5);
}
