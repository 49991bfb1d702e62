// libFuzzer target for the input entry point: bytes -> load_bytes (PEM, DER, PKCS#7, keys)
// -> judge_chain over whatever certificates came out, the same path `certwatch check` and
// the agent take for every file. Run by scripts/fuzz.sh for a bounded time in CI.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "pki/judge/judge.h"
#include "pki/load/load.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto loaded = certwatch::pki::load_bytes(bytes, "fuzz-input");
  if (!loaded.ok() || loaded->certs.empty()) return 0;
  certwatch::pki::JudgeOptions options;
  options.now = 1764000000;  // fixed: the fuzzer must be deterministic
  options.host = "mqtt.lab.local";
  options.purpose = certwatch::pki::Purpose::server;
  // The file judged against itself: its last certificate stands in as the trust anchor, so
  // the path-building and order code runs on adversarial graphs.
  options.trust.push_back(loaded->certs.back());
  certwatch::pki::Report report = certwatch::pki::judge_chain("fuzz-input", loaded->certs, std::nullopt, options);
  (void)report;
  return 0;
}
