#include "agent/daemon/sd_notify.h"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <cstdint>
#include <cstdlib>

namespace certwatch::agent {
namespace {

std::string with_status(std::string msg, std::string_view status) {
  if (!status.empty()) {
    msg += "\nSTATUS=";
    msg += status;
  }
  return msg;
}

}  // namespace

SdNotify::SdNotify() {
  const char* sock = std::getenv("NOTIFY_SOCKET");
  enabled_ = sock != nullptr && *sock != '\0';
  uint64_t usec = 0;
  // sd_watchdog_enabled checks WATCHDOG_PID against our pid, so a child does not inherit it.
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
    watchdog_ = std::chrono::microseconds(static_cast<int64_t>(usec / 2));
}

bool SdNotify::send(const std::string& message) {
  if (!enabled_) return false;
  return sd_notify(0, message.c_str()) > 0;
}

void SdNotify::ready(std::string_view status) {
  send(with_status("READY=1", status));
}

void SdNotify::status(std::string_view status) {
  send("STATUS=" + std::string(status));
}

void SdNotify::reloading(std::string_view status) {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  const auto usec =
      static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
  send(with_status("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec), status));
}

void SdNotify::stopping(std::string_view status) {
  send(with_status("STOPPING=1", status));
}

void SdNotify::watchdog() {
  send("WATCHDOG=1");
}

}  // namespace certwatch::agent
