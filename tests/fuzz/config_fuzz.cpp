// libFuzzer target for the config loader: any bytes as the YAML config text (file checks off,
// so the result does not depend on the machine). Run by scripts/fuzz.sh with -timeout: a
// slow input (alias bombs, deep nesting, quadratic checks over many entries) is a failure.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  certwatch::config::LoadOptions options;
  options.check_files = false;
  auto result = certwatch::config::load_config_string(text, "fuzz.yaml", "/nonexistent-base", options);
  (void)result;
  return 0;
}
