// bench/alert_latency: file change -> MQTT alert at a subscriber on loopback (issue #10,
// acceptance 6). Starts a Mosquitto (plain TCP on 127.0.0.1: the connection's TLS is paid once
// per connection, not per message) and the real `certwatch agent` (default debounce 200 ms,
// hold 0s), and subscribes in-process with Paho.
//
// 1. Latency: `--changes` file changes, one at a time; half of them add a self-signed
//    certificate (a chain.untrusted alert is raised), half remove it again (the alert
//    clears). Each is timed from the rename or unlink to the arrival of the alert topic's
//    message (retained JSON, or the empty clear). p50, p99 and max (goal p99 <= 1 s).
// 2. Burst: `--burst` files written at once; every alert and every "raised" event must
//    arrive (none lost), and certwatch_mqtt_messages_dropped_total must stay 0. Reports the
//    drain time, the agent's CPU over the burst and its peak RSS (sampled every 50 ms).
//
//   build/bench/alert_latency [--changes 1000] [--burst 10000] [--dir DIR] [--keep]
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mqtt/async_client.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "exporters/mqtt/topics.h"

namespace fs = std::filesystem;

namespace {

pid_t spawn(const std::vector<std::string>& argv, const fs::path& log) {
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    if (std::freopen(log.c_str(), "w", stderr) == nullptr || std::freopen(log.c_str(), "a", stdout) == nullptr) _exit(126);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  return pid;
}

void stop(pid_t pid) {
  if (pid <= 0) return;
  kill(pid, SIGTERM);
  int st = 0;
  waitpid(pid, &st, 0);
}

bool wait_port(int port, double timeout_s) {
  const double end = bench::now_seconds() + timeout_s;
  while (bench::now_seconds() < end) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// What the subscriber saw: per topic, the arrival times and whether the payload was empty.
struct Seen {
  std::mutex m;
  std::map<std::string, std::vector<std::pair<double, bool>>> by_topic;
  std::atomic<long> events{0};
  std::atomic<long> raised{0};
};

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

std::string metric_line(int port, const std::string& name) {
  FILE* p = popen(("curl -s http://127.0.0.1:" + std::to_string(port) + "/metrics | grep '^" + name + "'").c_str(), "r");
  char buf[512] = {};
  const size_t n = p ? std::fread(buf, 1, sizeof buf - 1, p) : 0;
  if (p) pclose(p);
  return std::string(buf, n);
}

}  // namespace

int main(int argc, char** argv) {
  int changes = 1000, burst = 10000;
  bool keep = false;
  fs::path dir;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--changes" && i + 1 < argc) changes = std::stoi(argv[++i]);
    else if (a == "--burst" && i + 1 < argc) burst = std::stoi(argv[++i]);
    else if (a == "--dir" && i + 1 < argc) dir = argv[++i];
    else if (a == "--keep") keep = true;
    else bench::die("usage: alert_latency [--changes N] [--burst N] [--dir DIR] [--keep]");
  }
  if (dir.empty()) dir = fs::temp_directory_path() / ("alert_latency." + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "watched");
  fs::create_directories(dir / "burst-src");

  // Certificates: self-signed leaves, each one chain.untrusted alert. Made before timing.
  const int distinct = std::max(1, changes / 2);
  std::vector<std::string> pems;
  for (int i = 0; i < std::max(distinct, burst); ++i) {
    auto key = bench::make_key(false);
    pems.push_back(bench::to_pem(bench::make_cert("bench-" + std::to_string(i), key.get(), nullptr, nullptr, false, 365).get()));
  }

  const int mqtt_port = bench::free_port(), http_port = bench::free_port();
  bench::write((dir / "mosquitto.conf").string(), "listener " + std::to_string(mqtt_port) +
                                                      " 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\n");
  const pid_t broker = spawn({"mosquitto", "-c", (dir / "mosquitto.conf").string()}, dir / "mosquitto.log");
  if (!wait_port(mqtt_port, 10)) bench::die("mosquitto did not start");
  const std::string prefix = "bench/alerts";
  bench::write((dir / "agent.yaml").string(),
               "agent:\n  state_dir: " + (dir / "state").string() + "\n  rescan_interval: 1h\nhttp:\n  listen: \"127.0.0.1:" +
                   std::to_string(http_port) + "\"\nwatch:\n  - path: " + (dir / "watched").string() +
                   "\nmqtt:\n  broker: \"mqtt://127.0.0.1:" + std::to_string(mqtt_port) + "\"\n  topic_prefix: " + prefix +
                   "\n  hold: 0s\n  renotify: 0s\n");  // buffer_limit: the default
  const pid_t agent = spawn({CERTWATCH_BIN, "agent", "-c", (dir / "agent.yaml").string()}, dir / "agent.log");
  if (!wait_port(http_port, 20)) bench::die("agent did not start");

  Seen seen;
  mqtt::async_client sub("tcp://127.0.0.1:" + std::to_string(mqtt_port), "alert-latency-sub", nullptr);
  sub.set_message_callback([&](mqtt::const_message_ptr m) {
    const double t = bench::now_seconds();
    const std::string& topic = m->get_topic();
    if (topic == prefix + "/events") {
      ++seen.events;
      if (m->get_payload_str().find("\"event\":\"raised\"") != std::string::npos) ++seen.raised;
      return;
    }
    std::lock_guard lock(seen.m);
    seen.by_topic[topic].emplace_back(t, m->get_payload().empty());
  });
  sub.connect(mqtt::connect_options_builder().clean_session(true).finalize())->wait();
  sub.subscribe(prefix + "/#", 1)->wait();
  // Waits for the n-th message on `topic` (1-based); its arrival time, or -1 after 10 s.
  auto arrival = [&](const std::string& topic, size_t n) {
    const double end = bench::now_seconds() + 10;
    while (bench::now_seconds() < end) {
      {
        std::lock_guard lock(seen.m);
        auto it = seen.by_topic.find(topic);
        if (it != seen.by_topic.end() && it->second.size() >= n) return it->second[n - 1].first;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    return -1.0;
  };

  // 1. Latency, one change at a time.
  std::vector<double> latencies;
  int lost = 0;
  for (int i = 0; i < changes; ++i) {
    const int n = i / 2;
    const fs::path file = dir / "watched" / ("c" + std::to_string(n) + ".pem");
    const std::string topic = prefix + "/alerts/" + certwatch::exporters::mqtt::alert_key(file.string(), "chain.untrusted");
    double t0;
    if (i % 2 == 0) {
      bench::write((dir / ".tmp.pem").string(), pems[static_cast<size_t>(n)]);
      t0 = bench::now_seconds();
      fs::rename(dir / ".tmp.pem", file);
    } else {
      t0 = bench::now_seconds();
      fs::remove(file);
    }
    const double t1 = arrival(topic, static_cast<size_t>(i % 2 + 1));
    if (t1 < 0) ++lost;
    else latencies.push_back(t1 - t0);
  }
  std::printf("latency over %d changes (%d raise, %d clear; debounce 200 ms, hold 0s):\n", changes,
              (changes + 1) / 2, changes / 2);
  std::printf("  p50 %.0f ms, p99 %.0f ms, max %.0f ms, not arrived within 10 s: %d\n",
              percentile(latencies, 0.50) * 1000, percentile(latencies, 0.99) * 1000,
              percentile(latencies, 1.0) * 1000, lost);

  // 2. Burst: written to a side directory, then moved in at once (one rename per file).
  for (int i = 0; i < burst; ++i)
    bench::write((dir / "burst-src" / ("b" + std::to_string(i) + ".pem")).string(), pems[static_cast<size_t>(i)]);
  const long raised_before = seen.raised;
  const double cpu0 = bench::cpu_seconds(agent);
  const long rss0 = bench::rss_kib(agent);
  long rss_peak = rss0;
  const double t0 = bench::now_seconds();
  for (int i = 0; i < burst; ++i)
    fs::rename(dir / "burst-src" / ("b" + std::to_string(i) + ".pem"), dir / "watched" / ("b" + std::to_string(i) + ".pem"));
  const double written = bench::now_seconds();
  size_t alerts = 0;
  const double end = t0 + 300;
  while (bench::now_seconds() < end) {
    rss_peak = std::max(rss_peak, bench::rss_kib(agent));
    {
      std::lock_guard lock(seen.m);
      alerts = 0;
      for (const auto& [topic, v] : seen.by_topic)
        if (topic.find("/alerts/b") != std::string::npos && !v.empty() && !v.back().second) ++alerts;
    }
    if (alerts >= static_cast<size_t>(burst) && seen.raised - raised_before >= burst) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const double drained = bench::now_seconds();
  const double cpu = bench::cpu_seconds(agent) - cpu0;
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  std::printf("burst of %d alerts (files moved in over %.2f s):\n", burst, written - t0);
  std::printf("  drained in %.2f s: %zu/%d retained alerts, %ld/%d raised events\n", drained - t0, alerts, burst,
              seen.raised - raised_before, burst);
  std::printf("  agent CPU %.2f s (%.0f %% of one core over the drain), RSS %ld KiB before, peak %ld KiB (+%ld KiB)\n", cpu,
              100 * cpu / (drained - t0), rss0, rss_peak, rss_peak - rss0);
  std::printf("  %s", metric_line(http_port, "certwatch_mqtt_messages_dropped_total").c_str());
  std::printf("  %s", metric_line(http_port, "certwatch_mqtt_messages_published_total{kind=\"alert\"}").c_str());

  sub.disconnect()->wait();
  stop(agent);
  stop(broker);
  if (!keep) fs::remove_all(dir);
  const bool ok = lost == 0 && alerts == static_cast<size_t>(burst) && seen.raised - raised_before == burst;
  std::printf("%s\n", ok ? "none lost" : "LOST MESSAGES");
  return ok ? 0 : 1;
}
