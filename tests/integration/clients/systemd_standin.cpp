// A stand-in for systemd's D-Bus API on a private bus (DBUS_SYSTEM_BUS_ADDRESS), for the
// renewal tests whose reload is `systemd_unit` (issue #22 item 10). It owns
// org.freedesktop.systemd1 and answers org.freedesktop.systemd1.Manager.ReloadUnit(name, mode)
// as systemd does: for the one unit it knows, a job object path at once, then, when the job
// has run (SIGHUP to the pid in --pid-file after --delay-ms), the JobRemoved(id, job, unit,
// result) signal; for any other unit the error org.freedesktop.systemd1.NoSuchUnit.
// --job-result failed: the job ends "failed" without signalling (a failing ExecReload=).
// Prints one line per event on stdout ("ready", "ReloadUnit <unit> <mode> -> <job>",
// "SIGHUP <pid>", "JobRemoved <job> <result>"); exits on SIGTERM or when its bus goes away.
//
//   systemd_standin --unit mosquitto.service --pid-file /tmp/x/mosquitto.pid [--delay-ms 2000]
#include <signal.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Job {
  uint32_t id = 0;
  std::string path;
  Clock::time_point due;
};

struct Standin {
  std::string unit;
  std::string pid_file;
  std::chrono::milliseconds delay{0};
  std::string result = "done";
  uint32_t next_id = 0;
  std::vector<Job> jobs;
  sd_bus* bus = nullptr;
};

volatile sig_atomic_t g_stop = 0;

void on_term(int) {
  g_stop = 1;
}

void say(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

int reload_unit(sd_bus_message* m, void* userdata, sd_bus_error* error) {
  auto& s = *static_cast<Standin*>(userdata);
  const char* name = nullptr;
  const char* mode = nullptr;
  if (int r = sd_bus_message_read(m, "ss", &name, &mode); r < 0) return r;
  if (s.unit != name) {
    say(std::string("ReloadUnit ") + name + " " + mode + " -> NoSuchUnit");
    return sd_bus_error_setf(error, "org.freedesktop.systemd1.NoSuchUnit", "Unit %s not found.",
                             name);
  }
  Job job;
  job.id = ++s.next_id;
  job.path = "/org/freedesktop/systemd1/job/" + std::to_string(job.id);
  job.due = Clock::now() + s.delay;
  s.jobs.push_back(job);
  say(std::string("ReloadUnit ") + name + " " + mode + " -> " + job.path);
  return sd_bus_reply_method_return(m, "o", job.path.c_str());
}

const sd_bus_vtable kManager[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("ReloadUnit", "ss", "o", reload_unit, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_SIGNAL("JobRemoved", "uoss", 0),
    SD_BUS_VTABLE_END,
};

void run_job(Standin& s, const Job& job) {
  if (s.result == "done") {
    std::ifstream in(s.pid_file);
    long pid = 0;
    in >> pid;
    if (pid > 1 && ::kill(static_cast<pid_t>(pid), SIGHUP) == 0)
      say("SIGHUP " + std::to_string(pid));
    else
      say("SIGHUP failed: no pid in " + s.pid_file);
  }
  sd_bus_emit_signal(s.bus, "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
                     "JobRemoved", "uoss", job.id, job.path.c_str(), s.unit.c_str(),
                     s.result.c_str());
  sd_bus_flush(s.bus);
  say("JobRemoved " + job.path + " " + s.result);
}

}  // namespace

int main(int argc, char** argv) {
  Standin s;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--unit")
      s.unit = v;
    else if (k == "--pid-file")
      s.pid_file = v;
    else if (k == "--delay-ms")
      s.delay = std::chrono::milliseconds(std::stol(v));
    else if (k == "--job-result")
      s.result = v;
  }
  if (s.unit.empty() || s.pid_file.empty()) {
    std::fprintf(stderr, "usage: %s --unit NAME --pid-file PATH [--delay-ms N] [--job-result R]\n",
                 argv[0]);
    return 2;
  }
  ::signal(SIGTERM, on_term);
  ::signal(SIGINT, on_term);
  sd_bus_slot* slot = nullptr;
  int r = sd_bus_open_system(&s.bus);
  if (r >= 0)
    r = sd_bus_add_object_vtable(s.bus, &slot, "/org/freedesktop/systemd1",
                                 "org.freedesktop.systemd1.Manager", kManager, &s);
  if (r >= 0) r = sd_bus_request_name(s.bus, "org.freedesktop.systemd1", 0);
  if (r < 0) {
    std::fprintf(stderr, "systemd_standin: %s\n", std::strerror(-r));
    return 1;
  }
  say("ready");
  while (g_stop == 0) {
    r = sd_bus_process(s.bus, nullptr);
    if (r < 0) break;  // the bus is gone
    const auto now = Clock::now();
    for (auto it = s.jobs.begin(); it != s.jobs.end();) {
      if (it->due <= now) {
        run_job(s, *it);
        it = s.jobs.erase(it);
      } else {
        ++it;
      }
    }
    if (r > 0) continue;
    if (sd_bus_wait(s.bus, 50 * 1000) < 0) break;  // 50 ms: the jobs' clock
  }
  sd_bus_slot_unref(slot);
  sd_bus_flush_close_unref(s.bus);
  return 0;
}
