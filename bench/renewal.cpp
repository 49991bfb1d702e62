// bench/renewal: latency of one renewal transaction against a real Mosquitto (issue #11,
// acceptance 8): issue a new EC P-256 key and leaf with the built-in issuer (ledger row),
// judge it, deploy key + cert + chain (staged set, intent record, temp + fsync + rename),
// SIGHUP through the broker's pid file, and handshake until the broker serves the new leaf.
// Runs the agent's own transaction (agent/renew/transaction.h) N times in a row and prints
// p50/p90/p99/max of the whole transaction.
//
//   build/bench/renewal [--count 100] [--dir DIR]
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/renew/transaction.h"
#include "bench/bench_util.h"
#include "pki/issue/issuer.h"

extern char** environ;
namespace fs = std::filesystem;
using namespace certwatch::agent;
using bench::die;
using bench::free_port;

namespace {

void write(const fs::path& p, const std::string& s) {
  std::ofstream(p) << s;
}

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5))];
}

}  // namespace

int main(int argc, char** argv) {
  int count = 100;
  fs::path dir;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--count") == 0 && i + 1 < argc) count = std::atoi(argv[++i]);
    else if (std::strcmp(argv[i], "--dir") == 0 && i + 1 < argc) dir = argv[++i];
    else die(std::string("usage: renewal [--count N] [--dir DIR] (unknown ") + argv[i] + ")");
  }
  if (dir.empty()) dir = fs::temp_directory_path() / ("certwatch-bench-renewal-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "certs");
  const int64_t now = std::time(nullptr);
  certwatch::pki::Issuer issuer(dir / "pki");
  certwatch::pki::InitRequest init;
  init.subject = "/CN=Bench Root";
  init.now = now;
  if (!issuer.init(init)) die("pki init");
  certwatch::pki::CaRequest ca;
  ca.name = "server-ca";
  ca.subject = "/CN=Bench Server CA";
  ca.now = now;
  if (!issuer.create_ca(ca)) die("pki ca");

  const int port = free_port();
  certwatch::config::Config cfg;
  cfg.agent.state_dir = dir / "state";
  cfg.issuers.push_back({"server-ca", dir / "pki", "server-ca", std::nullopt});
  certwatch::config::ManagedEntry m;
  m.name = "broker";
  m.issuer = "server-ca";
  m.subject = "/CN=mqtt.bench.local";
  m.sans = {{certwatch::pki::SubjectAltName::Type::dns, "mqtt.bench.local"}, {certwatch::pki::SubjectAltName::Type::ip, "127.0.0.1"}};
  m.validity = certwatch::config::Seconds{86400};
  m.cert = dir / "certs" / "server.cert.pem";
  m.key = dir / "certs" / "server.key.pem";
  m.chain = dir / "certs" / "server.chain.pem";
  m.reload.kind = certwatch::config::Reload::Kind::signal;
  m.reload.signal.pid_file = dir / "mosquitto.pid";
  m.verify_endpoint = certwatch::config::HostPort{"127.0.0.1", static_cast<uint16_t>(port)};
  cfg.managed.push_back(m);

  boost::asio::io_context io;
  auto targets = make_renew_targets(io, cfg);
  auto run_one = [&]() {
    RenewOutcome out;
    run_renewal(io, targets, std::time(nullptr), VerifyPolicy{200, std::chrono::milliseconds(5)},
                [&](std::vector<RenewOutcome> o) { out = o.front(); });
    io.restart();
    io.run();
    return out;
  };
  // Bootstrap (no pid file yet: no reload), then the broker on the deployed files.
  if (auto o = run_one(); !o.ok) die("bootstrap: " + o.error);
  const auto conf = dir / "mosquitto.conf";
  write(conf, "persistence false\npid_file " + (dir / "mosquitto.pid").string() + "\nlog_dest file " +
                  (dir / "mosquitto.log").string() + "\nlistener " + std::to_string(port) +
                  " 127.0.0.1\nallow_anonymous true\ncertfile " + m.chain->string() + "\nkeyfile " +
                  m.key.string() + "\nuser " + ::getpwuid(::getuid())->pw_name + "\n");
  pid_t broker = 0;
  std::vector<std::string> args{"mosquitto", "-c", conf.string()};
  std::vector<char*> av;
  for (auto& a : args) av.push_back(a.data());
  av.push_back(nullptr);
  if (::posix_spawnp(&broker, "mosquitto", nullptr, nullptr, av.data(), environ) != 0) die("mosquitto not found");
  for (int i = 0; i < 100 && !fs::exists(dir / "mosquitto.pid"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));

  std::vector<double> ms;
  int failures = 0;
  for (int i = 0; i < count; ++i) {
    auto o = run_one();
    if (!o.ok) {
      ++failures;
      std::fprintf(stderr, "renewal %d failed: %s\n", i, o.error.c_str());
      continue;
    }
    ms.push_back(o.seconds * 1000);
  }
  ::kill(broker, SIGTERM);
  ::waitpid(broker, nullptr, 0);
  if (ms.empty()) die("no renewal succeeded");

  // Where the time goes: the issuance alone (ledger row + the issuer's own fsynced output
  // set) and the set-atomic deploy alone (archive, stage, intent, three live writes), each
  // measured on its own the same number of times.
  std::vector<double> issue_ms, deploy_ms;
  auto& target = *targets.front();
  for (int i = 0; i < count; ++i) {
    IssuedSet set;
    const auto t0 = std::chrono::steady_clock::now();
    target.issuer->issue({"broker", certwatch::pki::Profile::server, m.subject, {"DNS:mqtt.bench.local", "IP:127.0.0.1"},
                          m.key_type, m.validity.count(), std::time(nullptr)},
                         [&](certwatch::Result<IssuedSet> r) {
                           if (!r) die("issue: " + r.error().message);
                           set = std::move(*r);
                         });
    io.restart();
    io.run();
    const auto t1 = std::chrono::steady_clock::now();
    if (auto r = target.store->deploy(set.files, target.ownership); !r) die("deploy: " + r.error().message);
    const auto t2 = std::chrono::steady_clock::now();
    issue_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    deploy_ms.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
  }
  std::printf("renewals: %d ok, %d failed (EC P-256 leaf, issue + judge + fsynced deploy + SIGHUP + handshake proof)\n",
              static_cast<int>(ms.size()), failures);
  std::printf("transaction latency: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n", percentile(ms, 0.5),
              percentile(ms, 0.9), percentile(ms, 0.99), percentile(ms, 1.0));
  std::printf("of which issue (ledger + issuer output): p50 %.1f ms, p99 %.1f ms; deploy (archive, stage, intent, "
              "live writes, all fsynced): p50 %.1f ms, p99 %.1f ms\n",
              percentile(issue_ms, 0.5), percentile(issue_ms, 0.99), percentile(deploy_ms, 0.5),
              percentile(deploy_ms, 0.99));
  fs::remove_all(dir);
  return failures == 0 ? 0 : 1;
}
