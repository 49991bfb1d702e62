// bench/agent_scale: the agent on 100,000 certificates in 20,000 files (issue #4, acceptance
// 6). Starts the real `certwatch agent` twice (on an empty directory, then on the corpus) and
// reports: initial scan time, RSS per certificate above the empty agent (goal <= 2 KiB),
// /metrics render time (goal <= 300 ms), CPU to reflect a one-file change (goal <= 1% of the
// full scan's CPU) and CPU over an idle window (goal ~0: no polling).
//
//   build/bench/agent_scale [--files 20000] [--per-file 5] [--idle 60] [--dir DIR] [--keep]
//
// Corpus: one EC P-256 hierarchy, root -> int1 -> int2 -> int3 -> int4; each file is a
// unique leaf followed by the four intermediates (5 certificates, the root in the trust
// bundle). Leaf keys come from a pool of 16 (key generation is not what is measured).
// /metrics is fetched with curl (identity encoding: the render, not gzip, is measured).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"

namespace fs = std::filesystem;

namespace {

struct Agent {
  pid_t pid = -1;
  int port = 0;
};

std::string sh_out(const std::string& cmd) {
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return {};
  std::string out;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

Agent start_agent(const fs::path& dir, const fs::path& watch, const fs::path& bundle,
                  const std::string& name) {
  Agent a;
  a.port = bench::free_port();
  const fs::path cfg = dir / (name + ".yaml");
  bench::write(cfg.string(), "agent:\n  debounce: 50ms\n  rescan_interval: 1h\n  state_dir: " + (dir / "state").string() + "\nhttp:\n  listen: \"127.0.0.1:" +
                                 std::to_string(a.port) + "\"\ntrust:\n  - " + bundle.string() +
                                 "\nwatch:\n  - path: " + watch.string() + "\n");
  std::fflush(nullptr);
  a.pid = fork();
  if (a.pid == 0) {
    const std::string log = (dir / (name + ".log")).string();
    if (std::freopen(log.c_str(), "w", stderr) == nullptr) _exit(126);
    execl(CERTWATCH_BIN, CERTWATCH_BIN, "agent", "-c", cfg.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return a;
}

bool wait_ready(const Agent& a, double timeout_s) {
  const double end = bench::now_seconds() + timeout_s;
  const std::string cmd = "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:" + std::to_string(a.port) + "/healthz";
  while (bench::now_seconds() < end) {
    if (sh_out(cmd) == "200") return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

void stop_agent(Agent& a) {
  if (a.pid <= 0) return;
  kill(a.pid, SIGTERM);
  int st = 0;
  waitpid(a.pid, &st, 0);
  a.pid = -1;
}

double metrics_seconds(const Agent& a, std::string* body = nullptr) {
  const std::string url = "http://127.0.0.1:" + std::to_string(a.port) + "/metrics";
  if (body != nullptr) *body = sh_out("curl -s " + url);
  return std::stod(sh_out("curl -s -o /dev/null -w '%{time_total}' " + url));
}

}  // namespace

int main(int argc, char** argv) {
  int files = 20000, per_file = 5, idle = 60;
  bool keep = false;
  fs::path dir;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--files" && i + 1 < argc) files = std::atoi(argv[++i]);
    else if (a == "--per-file" && i + 1 < argc) per_file = std::atoi(argv[++i]);
    else if (a == "--idle" && i + 1 < argc) idle = std::atoi(argv[++i]);
    else if (a == "--dir" && i + 1 < argc) dir = argv[++i];
    else if (a == "--keep") keep = true;
    else bench::die("usage: agent_scale [--files N] [--per-file K] [--idle S] [--dir DIR] [--keep]");
  }
  if (per_file < 1) bench::die("--per-file must be at least 1");
  if (dir.empty()) dir = fs::temp_directory_path() / ("certwatch-agent-scale-" + std::to_string(getpid()));
  fs::create_directories(dir / "corpus");
  fs::create_directories(dir / "empty");

  // Corpus.
  const double gen_start = bench::now_seconds();
  std::vector<certwatch::pki::UniquePtr<EVP_PKEY>> ca_keys;
  std::vector<certwatch::pki::UniquePtr<X509>> cas;
  ca_keys.push_back(bench::make_key(false));
  cas.push_back(bench::make_cert("Scale Root", ca_keys[0].get(), nullptr, nullptr, true, 3650));
  for (int d = 1; d < per_file; ++d) {
    ca_keys.push_back(bench::make_key(false));
    cas.push_back(bench::make_cert("Scale Int " + std::to_string(d), ca_keys.back().get(),
                                   cas[d - 1].get(), ca_keys[d - 1].get(), true, 3000));
  }
  std::string intermediates;  // issuing CA first
  for (int d = per_file - 1; d >= 1; --d) intermediates += bench::to_pem(cas[d].get());
  const fs::path bundle = dir / "bundle.pem";
  bench::write(bundle.string(), bench::to_pem(cas[0].get()));
  std::vector<certwatch::pki::UniquePtr<EVP_PKEY>> leaf_keys;
  for (int i = 0; i < 16; ++i) leaf_keys.push_back(bench::make_key(false));
  auto leaf_pem = [&](int i, int days) {
    auto leaf = bench::make_cert("leaf-" + std::to_string(i) + ".scale.local", leaf_keys[i % 16].get(),
                                 cas.back().get(), ca_keys.back().get(), false, days);
    return bench::to_pem(leaf.get());
  };
  auto file_of = [&](int i) { return dir / "corpus" / ("f" + std::to_string(i) + ".pem"); };
  for (int i = 0; i < files; ++i) bench::write(file_of(i).string(), leaf_pem(i, 30 + i % 300) + intermediates);
  const long certs = static_cast<long>(files) * per_file;
  std::printf("corpus: %d files, %ld certificates in %.1f s (%s)\n", files, certs,
              bench::now_seconds() - gen_start, dir.c_str());

  // The empty agent: baseline RSS.
  Agent empty = start_agent(dir, dir / "empty", bundle, "empty");
  if (!wait_ready(empty, 30)) bench::die("empty agent did not become ready");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const long rss_empty = bench::rss_kib(empty.pid);
  stop_agent(empty);

  // The full agent.
  const double t0 = bench::now_seconds();
  Agent full = start_agent(dir, dir / "corpus", bundle, "full");
  if (!wait_ready(full, 900)) bench::die("agent did not become ready");
  const double ready_wall = bench::now_seconds() - t0;
  const double scan_cpu = bench::cpu_seconds(full.pid);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const long rss_before_scrape = bench::rss_kib(full.pid);
  std::string body;
  metrics_seconds(full, &body);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the session has closed
  const std::string scan_line = sh_out("grep -o 'initial scan: .*' " + (dir / "full.log").string());
  const long rss_full = bench::rss_kib(full.pid);

  // /metrics render (server side included: request to last byte), 5 scrapes.
  std::vector<double> renders;
  for (int i = 0; i < 5; ++i) renders.push_back(metrics_seconds(full));
  std::sort(renders.begin(), renders.end());
  size_t series = 0;
  for (size_t p = body.find("\ncertwatch_"); p != std::string::npos; p = body.find("\ncertwatch_", p + 1)) ++series;

  // One-file change: atomic replace of one file with a new leaf; CPU over the next 2 s.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const double cpu_before = bench::cpu_seconds(full.pid);
  const fs::path victim = file_of(files / 2);
  bench::write((dir / "corpus" / ".tmp").string(), leaf_pem(999999, 77) + intermediates);
  fs::rename(dir / "corpus" / ".tmp", victim);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const double change_cpu = bench::cpu_seconds(full.pid) - cpu_before;
  metrics_seconds(full, &body);
  const bool change_seen = body.find("leaf-999999.scale.local") != std::string::npos;

  // Idle.
  const double idle_before = bench::cpu_seconds(full.pid);
  std::this_thread::sleep_for(std::chrono::seconds(idle));
  const double idle_cpu = bench::cpu_seconds(full.pid) - idle_before;
  stop_agent(full);

  std::printf("initial scan: ready after %.2f s wall, %.2f s CPU (agent log: %s)\n", ready_wall,
              scan_cpu, scan_line.empty() ? "?" : scan_line.substr(0, scan_line.find('\n')).c_str());
  std::printf("RSS: empty %ld KiB, full %ld KiB before the first scrape -> %.0f B per certificate (goal <= 2048)\n",
              rss_empty, rss_before_scrape, (rss_before_scrape - rss_empty) * 1024.0 / static_cast<double>(certs));
  std::printf("RSS after a scrape: %ld KiB -> %.0f B per certificate\n", rss_full,
              (rss_full - rss_empty) * 1024.0 / static_cast<double>(certs));
  std::printf("/metrics: %zu series, %.1f MiB, min %.0f ms, median %.0f ms, max %.0f ms (goal <= 300 ms)\n",
              series, body.size() / 1048576.0, renders.front() * 1e3, renders[2] * 1e3,
              renders.back() * 1e3);
  std::printf("one-file change: %.3f s CPU (clock ticks: 0.000 means < 0.01 s) = %.3f%% of the full scan's CPU (goal <= 1%%), seen on /metrics: %s\n",
              change_cpu, 100.0 * change_cpu / scan_cpu, change_seen ? "yes" : "NO");
  std::printf("idle: %.3f s CPU over %d s (goal ~0)\n", idle_cpu, idle);
  if (!keep) fs::remove_all(dir);
  return change_seen ? 0 : 1;
}
