// Test support shared by every test binary: temp directories, running real programs with a
// bounded time, free loopback ports, and small file helpers. Certificates are generated at
// test time (see the per-area helpers); nothing is checked in.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace testing {

namespace fs = std::filesystem;

// $TMPDIR, or /tmp when it is not set.
fs::path temp_base();

// A fresh directory under temp_base(), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  // Under `base` instead of temp_base().
  explicit TempDir(const fs::path& base);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

struct RunResult {
  int exit_code = -1;  // -1 when killed by the timeout or a signal
  std::string out;
  std::string err;
  bool timed_out = false;
};

// Runs argv (no shell) with optional stdin, capturing stdout/stderr; kills it after `timeout`.
// `env` entries are added to the environment ("NAME=value").
RunResult run(const std::vector<std::string>& argv,
              std::chrono::milliseconds timeout = std::chrono::seconds(60),
              const std::string& stdin_data = {}, const std::vector<std::string>& env = {});
// Convenience: /bin/sh -c script (for openssl recipes that read like the seeds).
RunResult sh(const std::string& script, std::chrono::milliseconds timeout = std::chrono::seconds(60));

// A background process (servers under test): started with argv, killed (TERM, then KILL) on
// destruction. Output goes to the given log file.
class Process {
 public:
  Process(const std::vector<std::string>& argv, const fs::path& log_file,
          const std::vector<std::string>& env = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  int pid() const { return pid_; }
  bool running();
  // Sends a signal; returns false if the process is gone.
  bool signal(int sig);
  // Waits for exit up to `timeout`; returns the exit code, or nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);

 private:
  int pid_ = -1;
  std::optional<int> status_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read, close).
int free_port();
// Polls until a TCP connect to 127.0.0.1:port succeeds, up to `timeout`.
bool wait_for_port(int port, std::chrono::milliseconds timeout);
void sleep_ms(int ms);
// Polls `pred` every 20 ms up to `timeout`; returns its last value.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    sleep_ms(20);
  }
}

std::string read_file(const fs::path& p);
// Permission bits of a file (st_mode & 07777); throws if it cannot be stat'ed.
unsigned mode_of(const fs::path& p);
void write_file(const fs::path& p, const std::string& content);
bool have_program(const std::string& name);  // found on PATH

// "ASAN_OPTIONS=..." for a sanitizer-built certwatch run under an LD_PRELOAD library
// (faketime): the options in force plus verify_asan_link_order=0, without which ASan aborts
// because the preloaded library comes first. A normal build ignores the variable.
std::string asan_options_beside_preload();

// Paths given by the build.
fs::path certwatch_bin();
fs::path source_dir();

}  // namespace testing
