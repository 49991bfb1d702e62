// Shared by the agent integration tests: start the real `certwatch agent` on a temp config
// with a free loopback port, GET its pages, and read series out of /metrics. Header-only so
// each *_test.cpp stays self-contained (tests/integration globs only *_test.cpp).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "support/fixtures.h"

namespace agent_test {

namespace fs = std::filesystem;

struct HttpResult {
  int status = 0;  // 0: no connection or no answer within the timeout
  std::string body;
};

// One HTTP/1.0 GET on 127.0.0.1 (the server closes after answering), bounded by 5 s.
inline HttpResult http_get(int port, const std::string& path) {
  HttpResult r;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return r;
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return r;
  }
  const std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return r;
  }
  std::string raw;
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  const auto sp = raw.find(' ');
  const auto hdr_end = raw.find("\r\n\r\n");
  if (sp == std::string::npos || hdr_end == std::string::npos) return r;
  r.status = std::atoi(raw.c_str() + sp + 1);
  r.body = raw.substr(hdr_end + 4);
  return r;
}

// Every /metrics line of `name` whose label block contains all of `must_contain`.
inline std::vector<std::string> series(const std::string& metrics, const std::string& name,
                                       const std::vector<std::string>& must_contain = {}) {
  std::vector<std::string> out;
  std::istringstream in(metrics);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + "{", 0) != 0 && line.rfind(name + " ", 0) != 0) continue;
    bool all = true;
    for (const auto& m : must_contain) all = all && line.find(m) != std::string::npos;
    if (all) out.push_back(line);
  }
  return out;
}

inline double value_of(const std::string& line) { return std::strtod(line.c_str() + line.rfind(' ') + 1, nullptr); }

// `openssl x509 -enddate` of the first certificate in `pem`, as POSIX seconds.
inline int64_t openssl_enddate(const fs::path& pem) {
  auto r = testing::run({"openssl", "x509", "-noout", "-enddate", "-in", pem.string()});
  // "notAfter=Nov 24 08:14:22 2027 GMT"
  const auto eq = r.out.find('=');
  if (r.exit_code != 0 || eq == std::string::npos) return -1;
  std::tm tm{};
  if (::strptime(r.out.c_str() + eq + 1, "%b %d %H:%M:%S %Y GMT", &tm) == nullptr) return -1;
  return static_cast<int64_t>(::timegm(&tm));
}

// The certificate's SHA-256 fingerprint as openssl prints it, in the exporter's spelling
// (lower-case hex, no colons); "" when openssl cannot read it.
inline std::string openssl_sha256(const fs::path& pem) {
  const auto r =
      testing::run({"openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", pem.string()});
  if (r.exit_code != 0) return {};
  std::string out;
  for (const char c : r.out.substr(r.out.find('=') + 1))
    if (std::isxdigit(static_cast<unsigned char>(c)))
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

inline std::string openssl_serial(const fs::path& pem) {
  auto r = testing::run({"openssl", "x509", "-noout", "-serial", "-in", pem.string()});
  auto s = r.out.substr(r.out.find('=') + 1);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  // Our serial label: upper-case hex without leading zero padding differences.
  while (s.size() > 1 && s[0] == '0') s.erase(0, 1);
  return s;
}

// A running agent on `config` (written by the caller), logging to dir/agent.log.
class AgentProcess {
 public:
  AgentProcess(const fs::path& dir, const fs::path& config, int port,
               std::vector<std::string> env = {})
      : port_(port), log_(dir / "agent.log") {
    proc_ = std::make_unique<testing::Process>(
        std::vector<std::string>{testing::certwatch_bin().string(), "agent", "-c", config.string()},
        log_, std::move(env));
  }
  // Waits until /healthz says the first scan is done (bounded).
  bool wait_ready(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    return testing::eventually([&] { return http_get(port_, "/healthz").status == 200; }, timeout);
  }
  std::string metrics() { return http_get(port_, "/metrics").body; }
  std::string log() const { return testing::read_file(log_); }
  testing::Process& process() { return *proc_; }
  int port() const { return port_; }

 private:
  int port_;
  fs::path log_;
  std::unique_ptr<testing::Process> proc_;
};

// A config watching `watch_dirs` (recursively) with `bundle` as trust, on `port`.
inline std::string agent_config(int port, const std::vector<fs::path>& watch_dirs,
                                const std::optional<fs::path>& bundle,
                                const std::string& extra_agent = "") {
  // state_dir beside the first watched directory: never the system's /var/lib/certwatch.
  const fs::path state = watch_dirs.empty() ? fs::temp_directory_path() / "certwatch-state"
                                            : watch_dirs.front().parent_path() / "state";
  std::string y = "agent:\n  rescan_interval: 10m\n  debounce: 50ms\n  state_dir: " + state.string() +
                  "\n" + extra_agent +
                  "http:\n  listen: \"127.0.0.1:" + std::to_string(port) + "\"\n";
  if (bundle) y += "trust:\n  - " + bundle->string() + "\n";
  y += "watch:\n";
  for (const auto& d : watch_dirs) y += "  - path: " + d.string() + "\n    recursive: true\n";
  return y;
}

}  // namespace agent_test

namespace agent_test {

// The value of label `name` in a series line ("" if absent).
inline std::string label_value(const std::string& line, const std::string& name) {
  const std::string key = name + "=\"";
  auto p = line.find(key);
  if (p == std::string::npos) return {};
  p += key.size();
  auto e = line.find('"', p);
  return line.substr(p, e - p);
}

inline std::string strip_zeros(std::string s) {
  while (s.size() > 1 && s[0] == '0') s.erase(0, 1);
  return s;
}

// A real Prometheus (Debian's /usr/bin/prometheus) on a free loopback port, scraping the agent
// on `agent_port` every second as job "certwatch" and evaluating `rule_files` every second;
// config, TSDB and log (prometheus.log) in `dir`. Killed with the returned process.
struct PrometheusProcess {
  int port = 0;
  std::unique_ptr<testing::Process> process;
};
inline PrometheusProcess start_prometheus(const fs::path& dir, int agent_port,
                                          const std::vector<fs::path>& rule_files = {}) {
  std::string rules;
  for (const auto& r : rule_files) rules += (rules.empty() ? "rule_files:\n" : "") + std::string("  - ") + r.string() + "\n";
  testing::write_file(dir / "prometheus.yml",
                      "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n" + rules +
                      "scrape_configs:\n  - job_name: certwatch\n    static_configs:\n"
                      "      - targets: ['127.0.0.1:" + std::to_string(agent_port) + "']\n");
  fs::create_directories(dir / "tsdb");
  PrometheusProcess p;
  p.port = testing::free_port();
  p.process = std::make_unique<testing::Process>(
      std::vector<std::string>{"prometheus", "--config.file=" + (dir / "prometheus.yml").string(),
                               "--storage.tsdb.path=" + (dir / "tsdb").string(),
                               "--web.listen-address=127.0.0.1:" + std::to_string(p.port), "--log.level=warn"},
      dir / "prometheus.log");
  return p;
}

}  // namespace agent_test
