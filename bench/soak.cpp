// bench/soak: the agent for a long time under hostile load (issue 15, acceptance 4): file
// churn (atomic replaces, in-place rewrites, creates and deletes), scrapes of every page, and
// slow clients that trickle header bytes. Prints RSS and CPU after a warm-up minute ("start")
// and over the last minute ("end"), the slowest scrape, and failed scrapes. Not run in CI.
//
//   build/bench/soak [--seconds 600] [--files 200] [--slow 100]
//
// Goal: no growth (RSS at the end within 10% of the start, CPU per minute flat) and every
// scrape answered (the slowest well under a second) while the slow clients are held.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"

namespace fs = std::filesystem;

namespace {

// A connection to the agent from `source` (the slow clients use 127.0.0.1, the scraper
// 127.0.0.2: another client, as Prometheus would be).
int connect_loopback(int port, int timeout_s, const char* source = "127.0.0.1") {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{timeout_s, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in src{};
  src.sin_family = AF_INET;
  ::inet_pton(AF_INET, source, &src.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
    ::close(fd);
    return -1;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// One GET; the status code, or 0 on failure.
int get(int port, const std::string& path) {
  const int fd = connect_loopback(port, 5, "127.0.0.2");
  if (fd < 0) return 0;
  const std::string req = "GET " + path + " HTTP/1.0\r\nHost: x\r\n\r\n";
  std::string raw;
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
    char buf[65536];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) raw.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return raw.size() > 12 ? std::atoi(raw.c_str() + 9) : 0;
}

struct Sample {
  double at = 0, cpu = 0;
  long rss = 0;
};

}  // namespace

int main(int argc, char** argv) {
  int seconds = 600, files = 200, slow = 100;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--seconds") seconds = std::atoi(argv[i + 1]);
    else if (a == "--files") files = std::atoi(argv[i + 1]);
    else if (a == "--slow") slow = std::atoi(argv[i + 1]);
    else bench::die("unknown option " + a);
  }
  if (seconds < 120) bench::die("--seconds must be at least 120 (a warm-up and a last minute)");
  const fs::path dir = fs::temp_directory_path() / ("certwatch-soak-" + std::to_string(::getpid()));
  const fs::path certs = dir / "certs";
  fs::create_directories(certs);

  // A root, and a pool of 32 leaves: the churn writes these, parsing is what costs.
  auto root_key = bench::make_key(false);
  auto root = bench::make_cert("Soak Root", root_key.get(), nullptr, nullptr, true, 3650);
  bench::write((dir / "root.pem").string(), bench::to_pem(root.get()));
  std::vector<std::string> pool;
  for (int i = 0; i < 32; ++i) {
    auto k = bench::make_key(false);
    pool.push_back(bench::to_pem(bench::make_cert("soak" + std::to_string(i) + ".lab", k.get(),
                                                  root.get(), root_key.get(), false, 90).get()));
  }
  for (int i = 0; i < files; ++i)
    bench::write((certs / ("f" + std::to_string(i) + ".pem")).string(), pool[static_cast<size_t>(i) % pool.size()]);

  const int port = bench::free_port();
  const fs::path cfg = dir / "certwatch.yaml";
  bench::write(cfg.string(), "agent:\n  debounce: 100ms\n  rescan_interval: 1m\n  state_dir: " + (dir / "state").string() +
                                 "\nhttp:\n  listen: \"127.0.0.1:" + std::to_string(port) + "\"\ntrust:\n  - " +
                                 (dir / "root.pem").string() + "\nwatch:\n  - path: " + certs.string() + "\n");
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    if (std::freopen((dir / "agent.log").c_str(), "w", stderr) == nullptr) _exit(126);
    execl(CERTWATCH_BIN, CERTWATCH_BIN, "agent", "-c", cfg.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  for (int i = 0; i < 300 && get(port, "/healthz") != 200; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  if (get(port, "/healthz") != 200) bench::die("the agent did not become ready");

  std::atomic<bool> stop{false};
  std::atomic<long> churn_ops{0}, scrapes{0}, failed{0}, slow_connects{0};
  std::atomic<double> slowest{0};
  std::thread churn([&] {
    std::mt19937 rng(15);
    for (long op = 0; !stop; ++op) {
      const fs::path f = certs / ("f" + std::to_string(rng() % static_cast<unsigned>(files)) + ".pem");
      const std::string& pem = pool[rng() % pool.size()];
      switch (op % 4) {
        case 0: {  // atomic replace
          const fs::path tmp = certs / ".tmp";
          bench::write(tmp.string(), pem);
          std::error_code ec;
          fs::rename(tmp, f, ec);
          break;
        }
        case 1: {  // in-place rewrite
          const int fd = ::open(f.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
          if (fd >= 0) {
            (void)::write(fd, pem.data(), pem.size());
            ::close(fd);
          }
          break;
        }
        case 2: bench::write((certs / ("new" + std::to_string(op % 50) + ".pem")).string(), pem); break;
        default: {
          std::error_code ec;
          fs::remove(certs / ("new" + std::to_string((op + 25) % 50) + ".pem"), ec);
        }
      }
      ++churn_ops;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  std::thread scraper([&] {
    const char* paths[] = {"/metrics", "/metrics", "/metrics", "/api/v1/certificates", "/", "/healthz"};
    for (long i = 0; !stop; ++i) {
      const double t0 = bench::now_seconds();
      const int status = get(port, paths[i % 6]);
      const double took = bench::now_seconds() - t0;
      ++scrapes;
      if (status != 200) ++failed;
      if (took > slowest) slowest = took;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  std::thread slowloris([&] {
    std::vector<int> fds;
    while (!stop) {
      // Keep `slow` connections open, each trickling one header byte a second; the agent cuts
      // them at its header deadline and we open new ones.
      while (static_cast<int>(fds.size()) < slow) {
        const int fd = connect_loopback(port, 1);
        if (fd < 0) break;
        const std::string start = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
        (void)::send(fd, start.data(), start.size(), MSG_NOSIGNAL);
        fds.push_back(fd);
        ++slow_connects;
      }
      for (auto it = fds.begin(); it != fds.end();) {
        if (::send(*it, "X", 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1) {
          ::close(*it);
          it = fds.erase(it);
        } else {
          ++it;
        }
      }
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    for (int fd : fds) ::close(fd);
  });

  const double begin = bench::now_seconds();
  const auto sample = [&] { return Sample{bench::now_seconds() - begin, bench::cpu_seconds(pid), bench::rss_kib(pid)}; };
  std::this_thread::sleep_for(std::chrono::seconds(60));
  const Sample s1 = sample();  // after the warm-up minute
  std::this_thread::sleep_for(std::chrono::seconds(60));
  const Sample s2 = sample();  // end of the first measured minute
  std::this_thread::sleep_for(std::chrono::seconds(seconds - 180));
  const Sample s3 = sample();
  std::this_thread::sleep_for(std::chrono::seconds(60));
  const Sample s4 = sample();  // end
  stop = true;
  churn.join();
  scraper.join();
  slowloris.join();
  const bool alive = ::kill(pid, 0) == 0;
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);

  std::printf("soak: %d s, %d files, %d slow clients held from one address\n", seconds, files, slow);
  std::printf("start (t=%.0f s): RSS %ld KiB, CPU %.2f s; first minute: %.1f%% CPU\n", s1.at, s1.rss, s1.cpu,
              100.0 * (s2.cpu - s1.cpu) / (s2.at - s1.at));
  std::printf("end   (t=%.0f s): RSS %ld KiB, CPU %.2f s; last minute:  %.1f%% CPU\n", s4.at, s4.rss, s4.cpu,
              100.0 * (s4.cpu - s3.cpu) / (s4.at - s3.at));
  std::printf("RSS growth start->end: %+.1f%% (goal within 10%%)\n", 100.0 * (s4.rss - s1.rss) / static_cast<double>(s1.rss));
  std::printf("churn: %ld file operations; scrapes: %ld, failed %ld, slowest %.3f s; slow connections opened: %ld\n",
              churn_ops.load(), scrapes.load(), failed.load(), slowest.load(), slow_connects.load());
  std::printf("agent alive at the end: %s; exit after SIGTERM: %d\n", alive ? "yes" : "NO",
              WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  std::error_code ec;
  fs::remove_all(dir, ec);
  return 0;
}
