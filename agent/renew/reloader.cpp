#include "agent/renew/reloader.h"

#include <signal.h>
#include <systemd/sd-bus.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "agent/process/argv_runner.h"
#include "pki/load/load.h"

namespace certwatch::agent {
namespace {

certwatch::Result<void> send_signal(const config::ReloadSignal& s) {
  auto text = pki::read_limited(s.pid_file, 64);
  if (!text)
    return certwatch::make_error("pid file " + s.pid_file.string() + ": " + text.error().message,
                                 certwatch::ErrorKind::io);
  long pid = 0;
  try {
    pid = std::stol(*text);
  } catch (const std::exception&) {
    pid = 0;
  }
  if (pid <= 1)
    return certwatch::make_error("pid file " + s.pid_file.string() + " holds no pid",
                                 certwatch::ErrorKind::invalid_input);
  if (::kill(static_cast<pid_t>(pid), s.signal) != 0)
    return certwatch::make_error(
        "signal " + std::string(::sigabbrev_np(s.signal) ? ::sigabbrev_np(s.signal) : "?") +
            " to pid " + std::to_string(pid) + ": " + std::strerror(errno),
        certwatch::ErrorKind::failed);
  return {};
}

constexpr const char* kCommandWhat = "reload command";

certwatch::Result<void> reload_unit(const config::ReloadSystemd& s) {
  sd_bus* bus = nullptr;
  if (int r = sd_bus_open_system(&bus); r < 0)
    return certwatch::make_error("systemd: cannot connect to the system bus: " +
                                 std::string(std::strerror(-r)));
  sd_bus_error error = SD_BUS_ERROR_NULL;
  sd_bus_message* reply = nullptr;
  int r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                             "org.freedesktop.systemd1.Manager", "ReloadUnit", &error, &reply, "ss",
                             s.unit.c_str(), "replace");
  std::string why = r < 0 ? (error.message != nullptr ? error.message : std::strerror(-r)) : "";
  sd_bus_error_free(&error);
  sd_bus_message_unref(reply);
  sd_bus_flush_close_unref(bus);
  if (r < 0) return certwatch::make_error("systemd: ReloadUnit " + s.unit + ": " + why);
  return {};
}

}  // namespace

std::string describe_reload(const config::Reload& reload) {
  using K = config::Reload::Kind;
  switch (reload.kind) {
    case K::signal:
      return std::string("signal ") +
             (::sigabbrev_np(reload.signal.signal) ? ::sigabbrev_np(reload.signal.signal) : "?") +
             " " + reload.signal.pid_file.string();
    case K::command: {
      std::string s = "command";
      for (const auto& a : reload.command.argv) s += " " + a;
      return s;
    }
    case K::systemd:
      return "systemd " + reload.systemd.unit;
    case K::none:
      break;
  }
  return "none";
}

certwatch::Result<void> run_reload(const config::Reload& reload,
                                   std::chrono::milliseconds command_timeout) {
  using K = config::Reload::Kind;
  switch (reload.kind) {
    case K::signal:
      return send_signal(reload.signal);
    case K::command:
      return run_argv(reload.command.argv, command_timeout, kCommandWhat);
    case K::systemd:
      return reload_unit(reload.systemd);
    case K::none:
      break;
  }
  return {};
}

void start_reload(boost::asio::io_context& io, const config::Reload& reload,
                  std::function<void(certwatch::Result<void>)> done) {
  if (reload.kind == config::Reload::Kind::command) {
    start_argv(io, reload.command.argv, kCommandTimeout, kCommandWhat, std::move(done));
    return;
  }
  start_detached(
      io, [reload] { return run_reload(reload); }, std::move(done));
}

}  // namespace certwatch::agent
