// Thin wrapper over libsystemd's sd_notify for Type=notify services. Every call is a no-op
// when NOTIFY_SOCKET is unset (not started by systemd, or in tests), so the daemon calls it
// unconditionally. Thread-safety: stateless apart from the watchdog interval read at
// construction; call from the io_context thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace certwatch::agent {

class SdNotify {
 public:
  SdNotify();

  bool enabled() const { return enabled_; }
  // The interval at which WATCHDOG=1 must be sent: half of WATCHDOG_USEC, when systemd set it
  // for this process.
  std::optional<std::chrono::microseconds> watchdog_interval() const { return watchdog_; }

  void ready(std::string_view status = {});
  void status(std::string_view status);
  void reloading(std::string_view status = {});  // RELOADING=1 with MONOTONIC_USEC (systemd >= 253)
  void stopping(std::string_view status = {});
  void watchdog();

  // Sends raw "KEY=value" lines; returns false when not under systemd or on a send error.
  bool send(const std::string& message);

 private:
  bool enabled_ = false;
  std::optional<std::chrono::microseconds> watchdog_;
};

}  // namespace certwatch::agent
