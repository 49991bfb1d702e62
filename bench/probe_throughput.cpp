// bench/probe_throughput: one round of TLS probes over N loopback endpoints (issue #9,
// acceptance 5), by Debian's prometheus-blackbox-exporter (tcp prober, tls: true) and by the
// certwatch agent, in the same run, one after the other on the same targets. Reports wall time
// and CPU seconds per probe of each prober (utime + stime deltas from /proc/PID/stat) and the
// ratio; goal: the agent at most half of blackbox_exporter's CPU per probe at N = 1,000. With
// --black-holes K, K listening sockets that never accept join the round (interleaved with the
// good ones): every good endpoint must still succeed, and the time its last one finished shows
// whether any was starved behind the holes.
//
//   build/bench/probe_throughput [--endpoints 1000] [--black-holes 0] [--concurrency 64]
//                                [--timeout 5] [--only agent|blackbox] [--dir DIR] [--keep]
//
// The servers: one nginx (nginx-light) with N `listen 127.0.0.1:PORT ssl` ports in its own
// prefix, serving leaf + intermediate (EC P-256) under a root that both probers trust. The
// blackbox side is driven by this program: --concurrency threads issue GET
// /probe?module=tls&target=127.0.0.1:PORT over keep-alive connections, as Prometheus would.
// The agent side is the real `certwatch agent` with one endpoint per target and
// agent.probe_concurrency = --concurrency; the round ends when certwatch_probes_total sums to
// N + K on /metrics (scraped every 200 ms; the scrapes are counted in the agent's CPU, and the
// CPU of an agent started with no endpoint is subtracted).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "bench/probe_bench_util.h"

namespace fs = std::filesystem;
using bench::probe::Target;

namespace {

struct Options {
  int endpoints = 1000, black_holes = 0, concurrency = 64, timeout = 5;
  std::string only;
  fs::path dir;
  bool keep = false;
};

struct RoundResult {
  double wall = 0;            // first probe started .. last probe finished
  double last_good = 0;       // .. last good endpoint finished
  double cpu = 0;             // the prober's CPU seconds for the round
  double server_cpu = 0;      // nginx's CPU seconds meanwhile
  int good_ok = 0, probes = 0;
};

void print_round(const char* who, const RoundResult& r, int good) {
  std::printf("%-9s %d probes (%d good: %d succeeded): wall %.2f s (last good endpoint at %.2f s), CPU %.3f s "
              "= %.3f ms per probe; nginx CPU %.3f s\n",
              who, r.probes, good, r.good_ok, r.wall, r.last_good, r.cpu, 1e3 * r.cpu / r.probes, r.server_cpu);
}

// blackbox_exporter: started, warmed up by one probe, then the round of GETs.
RoundResult blackbox_round(const Options& o, const fs::path& ca, const std::vector<Target>& targets,
                           pid_t nginx) {
  const int port = bench::free_port();
  const fs::path cfg = o.dir / "blackbox.yml";
  bench::write(cfg.string(), "modules:\n  tls:\n    prober: tcp\n    timeout: " + std::to_string(o.timeout) +
                                 "s\n    tcp:\n      tls: true\n      tls_config:\n        ca_file: " + ca.string() +
                                 "\n        server_name: " + bench::probe::kServerName + "\n");
  const pid_t pid = bench::probe::spawn({"prometheus-blackbox-exporter", "--config.file=" + cfg.string(),
                                         "--web.listen-address=127.0.0.1:" + std::to_string(port),
                                         "--log.level=error"},
                                        o.dir / "blackbox.log");
  if (!bench::probe::wait_http(port, "/metrics", 30)) bench::die("blackbox_exporter did not start (see blackbox.log)");
  const auto path = [](const Target& t) { return "/probe?module=tls&target=127.0.0.1:" + std::to_string(t.port); };
  bench::probe::HttpClient warm(port);
  const Target& first_good = *std::find_if(targets.begin(), targets.end(), [](const Target& t) { return t.good; });
  if (warm.get(path(first_good)).find("probe_success 1") == std::string::npos)
    bench::die("blackbox_exporter's first probe failed: check the module (blackbox.yml)");

  RoundResult r;
  std::atomic<size_t> next{0};
  std::mutex m;
  const double cpu0 = bench::cpu_seconds(pid), ncpu0 = bench::probe::tree_cpu(nginx), t0 = bench::now_seconds();
  std::vector<std::thread> workers;
  for (int w = 0; w < o.concurrency; ++w)
    workers.emplace_back([&] {
      bench::probe::HttpClient c(port);
      for (size_t i = next++; i < targets.size(); i = next++) {
        const bool ok = c.get(path(targets[i])).find("\nprobe_success 1") != std::string::npos;
        const double at = bench::now_seconds() - t0;
        const std::lock_guard lock(m);
        ++r.probes;
        r.wall = std::max(r.wall, at);
        if (targets[i].good && ok) ++r.good_ok;
        if (targets[i].good) r.last_good = std::max(r.last_good, at);
      }
    });
  for (auto& t : workers) t.join();
  r.cpu = bench::cpu_seconds(pid) - cpu0;
  r.server_cpu = bench::probe::tree_cpu(nginx) - ncpu0;
  bench::probe::stop(pid);
  return r;
}

std::string agent_config(const Options& o, const fs::path& state, int port, const fs::path& ca,
                         const std::vector<Target>& targets) {
  std::string y = "agent:\n  state_dir: " + state.string() + "\n  probe_concurrency: " + std::to_string(o.concurrency) +
                  "\nhttp:\n  listen: \"127.0.0.1:" + std::to_string(port) + "\"\ntrust:\n  - " + ca.string() +
                  "\n";
  if (targets.empty()) return y;
  y += "endpoints:\n";
  for (const auto& t : targets)
    y += "  - {target: \"127.0.0.1:" + std::to_string(t.port) + "\", sni: " + bench::probe::kServerName +
         ", interval: 1h, timeout: " + std::to_string(o.timeout) + "s}\n";
  return y;
}

// The agent's CPU from start to ready with no endpoint: subtracted from the round's.
double agent_start_cpu(const Options& o, const fs::path& ca) {
  const int port = bench::free_port();
  const fs::path cfg = o.dir / "agent-empty.yaml";
  fs::create_directories(o.dir / "state-empty");
  bench::write(cfg.string(), agent_config(o, o.dir / "state-empty", port, ca, {}));
  const pid_t pid = bench::probe::spawn({CERTWATCH_BIN, "agent", "-c", cfg.string()}, o.dir / "agent-empty.log");
  if (!bench::probe::wait_http(port, "/healthz", 30)) bench::die("the agent did not start (see agent-empty.log)");
  const double cpu = bench::cpu_seconds(pid);
  bench::probe::stop(pid);
  return cpu;
}

RoundResult agent_round(const Options& o, const fs::path& ca, const std::vector<Target>& targets, pid_t nginx) {
  const double start_cpu = agent_start_cpu(o, ca);
  const int port = bench::free_port();
  const fs::path cfg = o.dir / "agent.yaml";
  fs::create_directories(o.dir / "state");
  bench::write(cfg.string(), agent_config(o, o.dir / "state", port, ca, targets));
  std::set<int> good;
  for (const auto& t : targets)
    if (t.good) good.insert(t.port);
  RoundResult r;
  const double ncpu0 = bench::probe::tree_cpu(nginx), t0 = bench::now_seconds();
  const pid_t pid = bench::probe::spawn({CERTWATCH_BIN, "agent", "-c", cfg.string()}, o.dir / "agent.log");
  const double deadline = t0 + 120 + 2.0 * o.timeout * static_cast<double>(targets.size()) / o.concurrency;
  bool all_good_seen = false;
  while (bench::now_seconds() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (waitpid(pid, nullptr, WNOHANG) == pid) bench::die("the agent exited (see agent.log)");
    const std::string body = bench::probe::HttpClient(port).get("/metrics");
    const bench::probe::AgentCounts c = bench::probe::count_agent_probes(body, good);
    const double at = bench::now_seconds() - t0;
    if (!all_good_seen && c.good_ok == static_cast<int>(good.size())) {
      all_good_seen = true;
      r.last_good = at;
    }
    r.good_ok = c.good_ok;
    r.probes = c.total;
    if (c.total >= static_cast<int>(targets.size())) {
      r.wall = at;
      break;
    }
  }
  r.cpu = bench::cpu_seconds(pid) - start_cpu;
  r.server_cpu = bench::probe::tree_cpu(nginx) - ncpu0;
  bench::probe::stop(pid);
  if (r.wall == 0) bench::die("the agent's round did not end in time: " + std::to_string(r.probes) + " probes seen");
  if (!all_good_seen) r.last_good = r.wall;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--endpoints") o.endpoints = std::atoi(value().c_str());
    else if (a == "--black-holes") o.black_holes = std::atoi(value().c_str());
    else if (a == "--concurrency") o.concurrency = std::atoi(value().c_str());
    else if (a == "--timeout") o.timeout = std::atoi(value().c_str());
    else if (a == "--only") o.only = value();
    else if (a == "--dir") o.dir = value();
    else if (a == "--keep") o.keep = true;
    else
      bench::die("usage: probe_throughput [--endpoints N] [--black-holes K] [--concurrency C] [--timeout S] "
                 "[--only agent|blackbox] [--dir DIR] [--keep]");
  }
  if (o.endpoints < 1 || o.black_holes < 0 || o.concurrency < 1 || o.timeout < 1) bench::die("bad arguments");
  if (!o.only.empty() && o.only != "agent" && o.only != "blackbox") bench::die("--only agent or blackbox");
  if (o.dir.empty()) o.dir = fs::temp_directory_path() / ("certwatch-probe-throughput-" + std::to_string(getpid()));
  fs::create_directories(o.dir);

  const bench::probe::Pki pki = bench::probe::make_pki(o.dir);
  const std::vector<Target> targets = bench::probe::make_targets(o.endpoints, o.black_holes);
  const pid_t nginx = bench::probe::start_nginx(o.dir, pki, targets);
  std::printf("%d TLS endpoints on one nginx (pid %d) + %d black holes; concurrency %d, timeout %d s (%s)\n",
              o.endpoints, nginx, o.black_holes, o.concurrency, o.timeout, o.dir.c_str());

  RoundResult bb, ag;
  if (o.only != "agent") {
    bb = blackbox_round(o, pki.root, targets, nginx);
    print_round("blackbox", bb, o.endpoints);
  }
  if (o.only != "blackbox") {
    ag = agent_round(o, pki.root, targets, nginx);
    print_round("certwatch", ag, o.endpoints);
  }
  if (o.only.empty())
    std::printf("CPU per probe, certwatch / blackbox_exporter: %.3f (goal <= 0.5); wall: %.2fx\n",
                (ag.cpu / ag.probes) / (bb.cpu / bb.probes), ag.wall / bb.wall);
  bench::probe::stop(nginx);
  if (!o.keep) fs::remove_all(o.dir);
  const bool starved = (o.only != "agent" && bb.good_ok < o.endpoints) || (o.only != "blackbox" && ag.good_ok < o.endpoints);
  if (starved) std::printf("NOT every good endpoint succeeded\n");
  return starved ? 1 : 0;
}
