// libFuzzer target for chain analysis on multi-certificate inputs. Each input byte picks a
// certificate from a fixed pool of hostile ones (one subject name, no key identifiers, some
// signing each other, some sharing one key), so the fuzzer explores orders, duplicates and
// same-name graphs of up to thousands of certificates instead of fighting DER syntax (that is
// load_fuzz's job). The first byte picks the trust anchor. With -timeout a slow input is a
// failure: the bounds of pki/load/chain_limits.h must hold for every graph.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "pki/judge/judge.h"
#include "pki/load/load.h"
#include "support/hostile_certs.h"

namespace {

const std::vector<certwatch::pki::Certificate>& pool() {
  static const std::vector<certwatch::pki::Certificate> certs = [] {
    std::string pem = testing::same_name_ca_pem(24, true) + testing::same_name_ca_pem(8, false);
    auto loaded = certwatch::pki::load_bytes(pem, "pool");
    return loaded ? loaded->certs : std::vector<certwatch::pki::Certificate>{};
  }();
  return certs;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& p = pool();
  if (size < 2 || p.empty()) return 0;
  certwatch::pki::JudgeOptions options;
  options.now = 1764000000;  // fixed: the fuzzer must be deterministic
  options.threads = 1;
  options.trust.push_back(p[data[0] % p.size()]);
  std::vector<certwatch::pki::Certificate> chain;
  chain.reserve(size - 1);
  for (size_t i = 1; i < size; ++i) chain.push_back(p[data[i] % p.size()]);
  certwatch::pki::Report report = certwatch::pki::judge_chain("fuzz-chain", chain, std::nullopt, options);
  (void)report;
  return 0;
}
