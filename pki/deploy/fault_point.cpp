#include "pki/deploy/fault_point.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

namespace certwatch::pki {

#ifdef CERTWATCH_FAULT_POINTS
void fault_point(std::string_view name) {
  if (const char* pause = std::getenv("CERTWATCH_FAULT_PAUSE"); pause != nullptr) {
    const std::string_view p(pause);
    const auto colon = p.find(':');
    if (colon != std::string_view::npos && p.substr(0, colon) == name)
      ::usleep(static_cast<useconds_t>(std::atol(pause + colon + 1)) * 1000);
  }
  const char* want = std::getenv("CERTWATCH_FAULT");
  if (want != nullptr && name == want) ::_exit(kFaultExitCode);
}

bool fault_enospc() {
  const char* flag = std::getenv("CERTWATCH_FAULT_ENOSPC");
  struct stat st {};
  return flag != nullptr && *flag != '\0' && ::stat(flag, &st) == 0;
}
#else
void fault_point(std::string_view) {}
bool fault_enospc() {
  return false;
}
#endif

}  // namespace certwatch::pki
