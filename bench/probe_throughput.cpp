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
// N + K on /metrics (polled every 200 ms; the CPU of an agent started with no endpoint is
// subtracted). The ratio keeps one poll in the agent's CPU (Prometheus collecting the round,
// as each blackbox_exporter probe answers its own scrape) and leaves out the others, whose
// cost is measured by 20 more scrapes after the round; the figure as polled is printed too.
// Before both, the same targets get blocking handshakes from this process with OpenSSL, in
// three set-ups (openssl_floors): the CPU floors of an OpenSSL client on this machine.
// The legacy-key floor below uses OpenSSL's deprecated ENGINE API, which the build hides
// (OPENSSL_NO_DEPRECATED, CMakeLists.txt); this file sees it. Nothing in certwatch calls it.
#undef OPENSSL_NO_DEPRECATED
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#include <openssl/engine.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
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
#include "agent/probe/tls_probe.h"

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
  int scrapes = 0;            // agent: /metrics polls by the bench during the round
  double scrape_cpu = 0;      // agent: CPU seconds of one such poll, measured after the round
};

constexpr int kScrapeSample = 20;

void print_round(const char* who, const RoundResult& r, int good) {
  std::printf("%-9s %d probes (%d good: %d succeeded): wall %.2f s (last good endpoint at %.2f s), CPU %.3f s "
              "= %.3f ms per probe; nginx CPU %.3f s\n",
              who, r.probes, good, r.good_ok, r.wall, r.last_good, r.cpu, 1e3 * r.cpu / r.probes, r.server_cpu);
  if (r.scrapes > 0)
    std::printf("          of which the bench's %d polls of /metrics: ~%.3f s (%.2f ms each, from %d more after the "
                "round)\n",
                r.scrapes, r.scrapes * r.scrape_cpu, 1e3 * r.scrape_cpu, kScrapeSample);
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
  if (targets.empty()) {  // the baseline: an agent needs something to do, an empty directory costs nothing
    fs::create_directories(state / "empty");
    return y + "watch:\n  - path: " + (state / "empty").string() + "\n";
  }
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
    ++r.scrapes;
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
  // What the bench's polling cost the agent: the same /metrics, scraped again after the round.
  const double scrape0 = bench::cpu_seconds(pid);
  for (int i = 0; i < kScrapeSample; ++i) (void)bench::probe::HttpClient(port).get("/metrics");
  r.scrape_cpu = (bench::cpu_seconds(pid) - scrape0) / kScrapeSample;
  bench::probe::stop(pid);
  if (r.wall == 0) bench::die("the agent's round did not end in time: " + std::to_string(r.probes) + " probes seen");
  if (!all_good_seen) r.last_good = r.wall;
  return r;
}

double thread_cpu() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// The floor of a prober built on this OpenSSL: blocking full handshakes (a fresh SSL each,
// no resumption) to the good targets, nothing else; CPU seconds per handshake on this thread,
// which does nothing else meanwhile. `ctx` says how the client is set up (see Floor).
double handshake_floor(SSL_CTX* ctx, const std::vector<Target>& targets, int count) {
  int done = 0;
  const double cpu0 = thread_cpu();
  for (int i = 0; i < count; ++i) {
    const Target& t = targets[static_cast<size_t>(i) % targets.size()];
    if (!t.good) continue;
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(t.port));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      certwatch::pki::UniquePtr<SSL> ssl(SSL_new(ctx));
      SSL_set_fd(ssl.get(), fd);
      SSL_set_tlsext_host_name(ssl.get(), bench::probe::kServerName);
      if (SSL_connect(ssl.get()) == 1 && SSL_get0_peer_certificate(ssl.get()) != nullptr) ++done;
    }
    ::close(fd);
  }
  const double cpu = thread_cpu() - cpu0;
  if (done == 0) bench::die("no handshake succeeded for the OpenSSL floor");
  return cpu / done;
}

// An ENGINE that claims the EC and RSA key methods and hands back OpenSSL's own built-in ones.
// Its only effect: OpenSSL 3.0's X509_PUBKEY decoding, which asks for a key-method engine first,
// takes the legacy decoder instead of building a provider decoder context per certificate, and
// key operations run through the legacy methods. certwatch does not do this (process-wide,
// deprecated API, every EC/RSA operation of the process changes path); the bench measures it to
// show the lowest handshake cost this OpenSSL can reach.
int builtin_key_methods(ENGINE*, EVP_PKEY_METHOD** method, const int** nids, int nid) {
  static const int kNids[] = {EVP_PKEY_EC, EVP_PKEY_RSA};
  if (method == nullptr) {
    *nids = kNids;
    return 2;
  }
  *method = const_cast<EVP_PKEY_METHOD*>(EVP_PKEY_meth_find(nid));
  return *method != nullptr ? 1 : 0;
}

// The same floor in a child process with that ENGINE installed (it cannot be uninstalled from
// this one); -1 if the child failed.
double legacy_key_floor(const std::vector<Target>& targets, int count) {
  int fds[2];
  if (::pipe(fds) != 0) return -1;
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    ::close(fds[0]);
    double r = -1;
    ENGINE* e = ENGINE_new();
    if (e != nullptr && ENGINE_set_id(e, "certwatch-bench-legacy-keys") && ENGINE_set_name(e, "bench") &&
        ENGINE_set_pkey_meths(e, builtin_key_methods) && ENGINE_add(e) && ENGINE_init(e) &&
        ENGINE_register_pkey_meths(e)) {
      auto ctx = certwatch::agent::probe::new_client_ssl_ctx();
      if (ctx) r = handshake_floor(ctx->get(), targets, count);
    }
    (void)!::write(fds[1], &r, sizeof r);
    ::_exit(0);
  }
  ::close(fds[1]);
  double r = -1;
  if (::read(fds[0], &r, sizeof r) != static_cast<ssize_t>(sizeof r)) r = -1;
  ::close(fds[0]);
  ::waitpid(pid, nullptr, 0);
  return r;
}

// Three floors, each CPU seconds per handshake:
//  verified  - a plain OpenSSL client that verifies the chain against the root;
//  probe     - certwatch's own probe context (probe::new_client_ssl_ctx: no verification in
//              the handshake, the judge does it; no ticket);
//  legacy    - the probe context with the legacy key methods (see builtin_key_methods).
struct Floor {
  double verified = 0, probe = 0, legacy = -1;
};

Floor openssl_floors(const fs::path& ca, const std::vector<Target>& targets, int count) {
  Floor f;
  certwatch::pki::UniquePtr<SSL_CTX> verified(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_load_verify_file(verified.get(), ca.c_str());
  SSL_CTX_set_verify(verified.get(), SSL_VERIFY_PEER, nullptr);
  f.verified = handshake_floor(verified.get(), targets, count);
  auto probe = certwatch::agent::probe::new_client_ssl_ctx();
  if (!probe) bench::die("probe context: " + probe.error().message);
  f.probe = handshake_floor(probe->get(), targets, count);
  f.legacy = legacy_key_floor(targets, count);
  std::printf("openssl   blocking handshakes, %d each, CPU per handshake (OpenSSL %s):\n"
              "            verified against the root       %.3f ms\n"
              "            certwatch's probe context        %.3f ms  (unverified: the judge verifies; no ticket)\n"
              "            + legacy key decoding (ENGINE)   %.3f ms  (not in certwatch: the lowest this OpenSSL goes)\n",
              count, OpenSSL_version(OPENSSL_VERSION_STRING), 1e3 * f.verified, 1e3 * f.probe, 1e3 * f.legacy);
  return f;
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

  const Floor floor = openssl_floors(pki.root, targets, std::min(o.endpoints + o.black_holes, 1000));
  RoundResult bb, ag;
  if (o.only != "agent") {
    bb = blackbox_round(o, pki.root, targets, nginx);
    print_round("blackbox", bb, o.endpoints);
  }
  if (o.only != "blackbox") {
    ag = agent_round(o, pki.root, targets, nginx);
    print_round("certwatch", ag, o.endpoints);
  }
  if (o.only.empty()) {
    // The agent's figure keeps one of the bench's polls (Prometheus collecting the round, as
    // each blackbox_exporter probe answers its own scrape) and leaves out the others.
    const double bb_probe = bb.cpu / bb.probes;
    const double ag_probe = (ag.cpu - std::max(0, ag.scrapes - 1) * ag.scrape_cpu) / ag.probes;
    std::printf("CPU per probe, certwatch (with one scrape of its /metrics, %.3f ms) / blackbox_exporter: %.3f "
                "(goal <= 0.5); as polled: %.3f; wall: %.2fx\n"
                "  certwatch / its probe context's bare handshake: %.2f; blackbox_exporter / verified OpenSSL "
                "handshake: %.2f\n"
                "  the goal allows %.3f ms per probe; the bare handshakes alone, over blackbox_exporter's probe: "
                "probe context %.2f, with legacy keys %.2f\n",
                1e3 * ag_probe, ag_probe / bb_probe, (ag.cpu / ag.probes) / bb_probe, ag.wall / bb.wall,
                ag_probe / floor.probe, bb_probe / floor.verified,
                1e3 * bb_probe / 2, floor.probe / bb_probe, floor.legacy / bb_probe);
  }
  bench::probe::stop(nginx);
  if (!o.keep) fs::remove_all(o.dir);
  const bool starved = (o.only != "agent" && bb.good_ok < o.endpoints) || (o.only != "blackbox" && ag.good_ok < o.endpoints);
  if (starved) std::printf("NOT every good endpoint succeeded\n");
  return starved ? 1 : 0;
}
