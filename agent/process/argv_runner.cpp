#include "agent/process/argv_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>

extern char** environ;

namespace certwatch::agent {
namespace {

constexpr size_t kStderrKept = 4096;  // enough for a first line; the rest is drained and dropped
constexpr size_t kLineShown = 300;

using Clock = std::chrono::steady_clock;

// The children of run_argv still running, so that stop_argv_runs() can end them.
std::mutex g_mutex;
std::set<pid_t> g_running;
// Set by stop_argv_runs(): from then on every run ends by this moment at the latest
// (Clock ticks since the epoch; 0 while the process is not stopping).
std::atomic<Clock::rep> g_stop_by{0};
constexpr auto kStopGrace = std::chrono::seconds(2);  // after SIGTERM, before SIGKILL

// A child in g_running from construction until end() (or destruction). end() comes before the
// child is reaped: until then its pid cannot be reused, so stop_argv_runs() never signals a
// stranger. A child started after the stop is told at once, like the others were.
class Registration {
 public:
  explicit Registration(pid_t pid) : pid_(pid) {
    const std::lock_guard lock(g_mutex);
    g_running.insert(pid);
    if (g_stop_by.load() != 0) ::kill(pid, SIGTERM);
  }
  ~Registration() { end(); }
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;
  void end() {
    const std::lock_guard lock(g_mutex);
    g_running.erase(pid_);
  }

 private:
  pid_t pid_;
};

// The moment a run must end: its own deadline, or the stop's if that comes first.
Clock::time_point end_by(Clock::time_point deadline) {
  const Clock::rep stop = g_stop_by.load();
  return stop == 0 ? deadline : std::min(deadline, Clock::time_point(Clock::duration(stop)));
}

std::string first_line(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  if (line.size() > kLineShown) line = line.substr(0, kLineShown) + "...";
  return line;
}

int millis_left(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1000));
}

// Reads the child's stderr until it closes or the deadline passes.
std::string drain(int fd, Clock::time_point deadline) {
  std::string kept;
  char buf[1024];
  for (;;) {
    const int wait = millis_left(end_by(deadline));
    if (wait == 0) break;
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, wait);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;  // timeout slice: the loop's deadline check ends it
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (kept.size() < kStderrKept) kept.append(buf, static_cast<size_t>(n));
  }
  return kept;
}

}  // namespace

certwatch::Result<void> run_argv(const std::vector<std::string>& args,
                                 std::chrono::milliseconds timeout, const std::string& what) {
  if (args.empty())
    return certwatch::make_error(what + ": no program given", certwatch::ErrorKind::invalid_input);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0)
    return certwatch::make_error(what + ": pipe: " + std::strerror(errno),
                                 certwatch::ErrorKind::failed);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);
  // Nothing else of ours reaches the child: a reload command that outlives the agent (killed,
  // or restarted by systemd) must not hold its listening sockets, or the next agent cannot
  // bind its port. Not every descriptor is opened with CLOEXEC (Asio's are not).
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  pid_t pid = 0;
  const int err = ::posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(err_pipe[1]);
  if (err != 0) {
    ::close(err_pipe[0]);
    return certwatch::make_error(what + " " + args[0] + ": " + std::strerror(err),
                                 certwatch::ErrorKind::failed);
  }
  Registration registered(pid);
  const auto deadline = Clock::now() + timeout;
  const std::string err_text = drain(err_pipe[0], deadline);
  ::close(err_pipe[0]);
  int status = 0;
  for (;;) {
    // Checked without reaping (WNOWAIT): see Registration.
    siginfo_t info{};
    const int r = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
    if (r == 0 && info.si_pid == pid) break;
    if (r < 0 && errno != EINTR)
      return certwatch::make_error(what + ": waitid: " + std::string(std::strerror(errno)));
    if (Clock::now() >= end_by(deadline)) {
      const bool stopping = Clock::now() < deadline;
      ::kill(pid, SIGKILL);
      registered.end();
      ::waitpid(pid, &status, 0);
      if (stopping)
        return certwatch::make_error(what + " " + args[0] + " killed: the agent is stopping");
      return certwatch::make_error(what + " " + args[0] + " did not finish within " +
                                   std::to_string(timeout.count()) + " ms (killed)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  registered.end();
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  const std::string line = first_line(err_text);
  const std::string tail = line.empty() ? "" : ": " + line;
  if (WIFEXITED(status))
    return certwatch::make_error(what + " " + args[0] + " exited with " +
                                 std::to_string(WEXITSTATUS(status)) + tail);
  return certwatch::make_error(what + " " + args[0] + " ended by signal " +
                               std::to_string(WTERMSIG(status)) + tail);
}

void stop_argv_runs() {
  const std::lock_guard lock(g_mutex);
  if (g_stop_by.load() == 0) g_stop_by = (Clock::now() + kStopGrace).time_since_epoch().count();
  for (const pid_t pid : g_running) ::kill(pid, SIGTERM);
}

void start_detached(boost::asio::io_context& io, std::function<certwatch::Result<void>()> work,
                    std::function<void(certwatch::Result<void>)> done) {
  std::thread([&io, work = std::move(work), done = std::move(done),
               guard = boost::asio::make_work_guard(io)]() mutable {
    auto r = work();
    // The guard travels with the result and ends on the io thread (or with the handler when the
    // io_context is destroyed first): this thread holds nothing of `io` once it has posted, so
    // an io_context stopped and destroyed right after the result arrives is never touched here.
    boost::asio::post(
        io, [done = std::move(done), r = std::move(r), guard = std::move(guard)]() mutable {
          guard.reset();
          done(std::move(r));
        });
  }).detach();
}

void start_argv(boost::asio::io_context& io, std::vector<std::string> argv,
                std::chrono::milliseconds timeout, std::string what,
                std::function<void(certwatch::Result<void>)> done) {
  start_detached(
      io,
      [argv = std::move(argv), timeout, what = std::move(what)] {
        return run_argv(argv, timeout, what);
      },
      std::move(done));
}

}  // namespace certwatch::agent
