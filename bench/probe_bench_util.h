// Helpers of bench/probe_throughput: the PKI both probers trust, the loopback targets (nginx
// ports and black holes), child processes with their CPU including children (nginx's worker),
// and a minimal keep-alive HTTP/1.1 client for blackbox_exporter's /probe and the agent's
// /metrics. Not part of the product.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <openssl/pem.h>

#include "bench/bench_util.h"

namespace bench::probe {

namespace fs = std::filesystem;

inline constexpr const char* kServerName = "bench.probe.local";

struct Pki {
  fs::path root, chain, key;  // root (the trust anchor), leaf + intermediate, the leaf's key
};

inline Pki make_pki(const fs::path& dir) {
  auto root_key = make_key(false), int_key = make_key(false), leaf_key = make_key(false);
  auto root = make_cert("Bench Probe Root", root_key.get(), nullptr, nullptr, true, 3650);
  auto inter = make_cert("Bench Probe Intermediate", int_key.get(), root.get(), root_key.get(), true, 1825);
  auto leaf = make_cert(kServerName, leaf_key.get(), inter.get(), int_key.get(), false, 90);
  Pki p{dir / "root.pem", dir / "chain.pem", dir / "leaf.key"};
  write(p.root.string(), to_pem(root.get()));
  write(p.chain.string(), to_pem(leaf.get()) + to_pem(inter.get()));
  certwatch::pki::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), leaf_key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  write(p.key.string(), std::string(data, static_cast<size_t>(len)));
  fs::permissions(p.key, fs::perms::owner_read | fs::perms::owner_write);
  return p;
}

struct Target {
  int port = 0;
  bool good = true;  // an nginx port; false: a black hole (listens, never accepts)
};

// `good` free ports for nginx and `holes` black holes held open by this process until it
// exits, the holes spread evenly among the good ones (the order of the round). The backlog is
// large so every probe's connect completes and then waits in the handshake.
inline std::vector<Target> make_targets(int good, int holes) {
  // The holes first: they keep their ports, so no good port can be one of them.
  std::vector<Target> hole_targets;
  std::set<int> used;
  for (int h = 0; h < holes; ++h) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 1024) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      die("cannot open a black hole");
    hole_targets.push_back({ntohs(a.sin_port), false});
    used.insert(ntohs(a.sin_port));
  }
  std::vector<Target> goods, out;
  while (static_cast<int>(goods.size()) < good) {
    const int p = free_port();
    if (used.insert(p).second) goods.push_back({p, true});
  }
  // Hole number h goes at position (h + 1) * total / (holes + 1).
  const int total = good + holes;
  size_t g = 0, h = 0;
  for (int i = 0; i < total; ++i) {
    const bool hole = h < hole_targets.size() && i + 1 >= static_cast<int>(h + 1) * total / (holes + 1);
    out.push_back(hole ? hole_targets[h++] : goods.at(g++));
  }
  return out;
}

// Children still running; killed at exit, so a bench that dies (bench::die) leaves no nginx,
// exporter or agent behind.
inline std::vector<pid_t>& live_children() {
  static auto* pids = new std::vector<pid_t>;  // never destroyed: the atexit hook reads it last
  return *pids;
}

inline void kill_live_children() {
  for (const pid_t pid : live_children()) {
    kill(-pid, SIGKILL);  // its process group: nginx's worker too
    waitpid(pid, nullptr, 0);
  }
  live_children().clear();
}

// Forks argv with stdout and stderr to `log`; the child gets its own process group.
inline pid_t spawn(const std::vector<std::string>& argv, const fs::path& log) {
  static const bool hooked = std::atexit(kill_live_children) == 0;
  (void)hooked;
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) die("fork failed");
  if (pid == 0) {
    setpgid(0, 0);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) _exit(126);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> av;
    for (const auto& a : argv) av.push_back(const_cast<char*>(a.c_str()));
    av.push_back(nullptr);
    execvp(av[0], av.data());
    _exit(127);
  }
  live_children().push_back(pid);
  return pid;
}

// TERM, up to 10 s, then KILL; always reaped.
inline void stop(pid_t pid) {
  if (pid <= 0) return;
  auto& live = live_children();
  live.erase(std::remove(live.begin(), live.end(), pid), live.end());
  kill(pid, SIGTERM);
  for (int i = 0; i < 200; ++i) {
    if (waitpid(pid, nullptr, WNOHANG) == pid) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

// CPU seconds of a process and of its direct children (nginx's master and its worker).
inline double tree_cpu(pid_t pid) {
  double sum = cpu_seconds(pid);
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  for (int child; in >> child;) sum += cpu_seconds(child);
  return sum;
}

// One keep-alive connection to 127.0.0.1:port; get() reconnects once when the server closed.
class HttpClient {
 public:
  explicit HttpClient(int port) : port_(port) {}
  ~HttpClient() { close(); }
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  int status() const { return status_; }
  // The body of GET path ("" and status 0 when the server could not be reached).
  std::string get(const std::string& path) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (fd_ < 0 && !connect()) break;
      std::string body;
      if (exchange(path, body)) return body;
      close();
    }
    status_ = 0;
    return {};
  }

 private:
  bool connect() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port_));
    if (fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return true;
    close();
    return false;
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    buf_.clear();
  }
  bool fill() {
    char tmp[65536];
    const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }
  bool exchange(const std::string& path, std::string& body) {
    const std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n";
    if (::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) return false;
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
      if (!fill()) return false;
    const std::string head = buf_.substr(0, end + 2);
    buf_.erase(0, end + 4);
    status_ = head.size() > 12 ? std::atoi(head.c_str() + 9) : 0;
    std::string lower = head;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (const size_t cl = lower.find("\r\ncontent-length:"); cl != std::string::npos) {
      const size_t n = std::stoul(lower.substr(cl + 17));
      while (buf_.size() < n)
        if (!fill()) return false;
      body = buf_.substr(0, n);
      buf_.erase(0, n);
      return true;
    }
    if (lower.find("transfer-encoding: chunked") == std::string::npos) return false;
    for (;;) {  // chunks: size line, data, CRLF; a zero size ends
      size_t eol;
      while ((eol = buf_.find("\r\n")) == std::string::npos)
        if (!fill()) return false;
      const size_t n = std::stoul(buf_.substr(0, eol), nullptr, 16);
      while (buf_.size() < eol + 2 + n + 2)
        if (!fill()) return false;
      body += buf_.substr(eol + 2, n);
      buf_.erase(0, eol + 2 + n + 2);
      if (n == 0) return true;
    }
  }

  int port_;
  int fd_ = -1;
  int status_ = 0;
  std::string buf_;
};

inline bool wait_http(int port, const std::string& path, double seconds) {
  const double end = now_seconds() + seconds;
  while (now_seconds() < end) {
    HttpClient c(port);
    c.get(path);
    if (c.status() == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// One nginx, N `listen ... ssl` ports in one server block, in its own prefix under `dir`.
inline pid_t start_nginx(const fs::path& dir, const Pki& pki, const std::vector<Target>& targets) {
  std::string listens;
  int good = 0, last = 0;
  for (const auto& t : targets)
    if (t.good) {
      listens += "    listen 127.0.0.1:" + std::to_string(t.port) + " ssl;\n";
      ++good;
      last = t.port;
    }
  const std::string d = dir.string();
  fs::create_directories(dir / "nginx-tmp");
  write(d + "/nginx.conf",
        "worker_processes 1;\nworker_rlimit_nofile " + std::to_string(2 * good + 4096) +
            ";\ndaemon off;\npid " + d + "/nginx.pid;\nerror_log " + d + "/nginx-error.log error;\n" +
            "events { worker_connections " + std::to_string(good + 2048) + "; }\nhttp {\n  access_log off;\n" +
            "  client_body_temp_path " + d + "/nginx-tmp/body;\n  proxy_temp_path " + d + "/nginx-tmp/proxy;\n" +
            "  fastcgi_temp_path " + d + "/nginx-tmp/fastcgi;\n  uwsgi_temp_path " + d + "/nginx-tmp/uwsgi;\n" +
            "  scgi_temp_path " + d + "/nginx-tmp/scgi;\n  ssl_certificate " + pki.chain.string() +
            ";\n  ssl_certificate_key " + pki.key.string() + ";\n  server {\n" + listens +
            "    return 200 \"ok\\n\";\n  }\n}\n");
  const pid_t pid = spawn({"nginx", "-p", d, "-c", d + "/nginx.conf", "-e", d + "/nginx-error.log"},
                          dir / "nginx.log");
  const double end = now_seconds() + 30;
  for (;;) {
    if (waitpid(pid, nullptr, WNOHANG) == pid) die("nginx exited (see nginx-error.log and nginx.log)");
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(last));
    const bool up = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (up) return pid;
    if (now_seconds() > end) die("nginx did not listen in 30 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

struct AgentCounts {
  int total = 0;    // sum of certwatch_probes_total over its results
  int good_ok = 0;  // good targets whose certwatch_probe_success is 1
};

inline AgentCounts count_agent_probes(const std::string& metrics, const std::set<int>& good) {
  AgentCounts c;
  size_t pos = 0;
  while (pos < metrics.size()) {
    size_t eol = metrics.find('\n', pos);
    if (eol == std::string::npos) eol = metrics.size();
    const std::string line = metrics.substr(pos, eol - pos);
    pos = eol + 1;
    const size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    if (line.rfind("certwatch_probes_total{", 0) == 0) {
      c.total += static_cast<int>(std::stod(line.substr(space + 1)));
    } else if (line.rfind("certwatch_probe_success{", 0) == 0 && line.substr(space + 1) == "1") {
      const size_t t = line.find("target=\"127.0.0.1:");
      if (t != std::string::npos && good.count(std::atoi(line.c_str() + t + 18)) > 0) ++c.good_ok;
    }
  }
  return c;
}

}  // namespace bench::probe
