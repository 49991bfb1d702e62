#include "agent/renew/reloader.h"

#include <signal.h>
#include <systemd/sd-bus.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <string>
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

// JobRemoved signals seen on the connection, by job path: the result ("done", "failed",
// "canceled", "timeout", ...). Filled before the ReloadUnit reply is read too: the job may end
// before its path is known.
int on_job_removed(sd_bus_message* m, void* userdata, sd_bus_error*) {
  auto& results = *static_cast<std::map<std::string, std::string>*>(userdata);
  uint32_t id = 0;
  const char* job = nullptr;
  const char* unit = nullptr;
  const char* result = nullptr;
  if (sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) >= 0) results[job] = result;
  return 0;
}

// Manager.ReloadUnit, then the wait for its job's JobRemoved, as `systemctl reload` waits: the
// reply only says the job was queued, so without the wait the proof handshakes could run
// before the server reloaded, and a reload that failed (ExecReload= exiting non-zero) would
// pass for a success.
certwatch::Result<void> reload_unit(const config::ReloadSystemd& s,
                                    std::chrono::milliseconds job_timeout) {
  sd_bus* bus = nullptr;
  if (int r = sd_bus_open_system(&bus); r < 0)
    return certwatch::make_error("systemd: cannot connect to the system bus: " +
                                 std::string(std::strerror(-r)));
  std::map<std::string, std::string> removed;
  sd_bus_slot* match = nullptr;
  int r = sd_bus_match_signal(bus, &match, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                              "org.freedesktop.systemd1.Manager", "JobRemoved", on_job_removed,
                              &removed);
  sd_bus_error error = SD_BUS_ERROR_NULL;
  sd_bus_message* reply = nullptr;
  if (r >= 0)
    r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                           "org.freedesktop.systemd1.Manager", "ReloadUnit", &error, &reply, "ss",
                           s.unit.c_str(), "replace");
  std::string why = r < 0 ? (error.message != nullptr ? error.message : std::strerror(-r)) : "";
  const char* job_path = nullptr;
  if (r >= 0 && sd_bus_message_read(reply, "o", &job_path) < 0) {
    r = -EBADMSG;
    why = "the reply holds no job";
  }
  const std::string job = job_path != nullptr ? job_path : "";
  sd_bus_error_free(&error);
  sd_bus_message_unref(reply);
  const auto end = std::chrono::steady_clock::now() + job_timeout;
  while (r >= 0 && removed.count(job) == 0) {
    const auto left = end - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) {
      why = "job " + job + " did not finish within " + std::to_string(job_timeout.count()) + " ms";
      r = -ETIMEDOUT;
      break;
    }
    int p = sd_bus_process(bus, nullptr);
    if (p > 0) continue;
    if (p == 0)
      p = sd_bus_wait(bus,
                      static_cast<uint64_t>(
                          std::chrono::duration_cast<std::chrono::microseconds>(left).count()));
    if (p < 0) {
      why = "waiting for job " + job + ": " + std::strerror(-p);
      r = p;
    }
  }
  sd_bus_slot_unref(match);
  sd_bus_flush_close_unref(bus);
  if (r < 0) return certwatch::make_error("systemd: ReloadUnit " + s.unit + ": " + why);
  if (const auto& result = removed[job]; result != "done")
    return certwatch::make_error("systemd: reload of " + s.unit + " ended with job result '" +
                                 result + "'");
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
      return reload_unit(reload.systemd, command_timeout);
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
