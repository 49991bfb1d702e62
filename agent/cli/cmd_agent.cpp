// `certwatch agent -c FILE`: the daemon. Foreground only (systemd Type=notify supervises it);
// logs to stderr.
#include <malloc.h>
#include <spdlog/spdlog.h>
#include <utility>  // before asio

#include <boost/asio/io_context.hpp>
#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "agent/cli/command.h"
#include "agent/cli/options.h"
#include "agent/daemon/daemon.h"
#include "agent/daemon/logging.h"

namespace certwatch {
namespace {

namespace po = boost::program_options;

int run_agent(const std::vector<std::string>& args) {
  po::options_description desc(
      "Usage: certwatch agent -c FILE [--log-level LEVEL]\n\n"
      "Runs the agent: watches the configured certificate files and directories, judges them\n"
      "like `certwatch check`, and serves /metrics, /healthz, /api/v1/certificates and a status\n"
      "page on http.listen (default 127.0.0.1:9793). SIGHUP reloads the configuration (an\n"
      "invalid one is logged and the running one kept); SIGTERM stops. Under systemd it speaks\n"
      "sd_notify (Type=notify, watchdog) and prefixes log lines with journald priorities.\n\n"
      "Options");
  std::string config_path, log_level = "info";
  unsigned threads = 0;
  desc.add_options()("help,h", "show this help")(
      "config,c", po::value(&config_path)->value_name("FILE"), "the YAML configuration file")(
      "log-level", po::value(&log_level)->value_name("LEVEL"),
      "trace, debug, info (default), warning, error")(
      "scan-threads", po::value(&threads)->value_name("N"),
      "threads for large scans (default: CPU count, at most 4)");
  po::positional_options_description pos;
  po::variables_map vm;
  if (auto done = parse_command_line(args, desc, pos, vm)) return *done;
  if (config_path.empty()) return usage_error(args[0], "-c/--config FILE is required");
  auto level = agent::parse_log_level(log_level);
  if (!level) {
    return usage_error(args[0], "unknown log level '" + log_level + "'");
  }
  agent::setup_logging(*level);
  // One malloc arena per scan thread would keep each thread's scan garbage resident; records
  // made on the pool live on in the io thread, so fewer arenas mean less fragmentation.
  ::mallopt(M_ARENA_MAX, 2);
  // A fixed mmap threshold: large scrape buffers (a /metrics body can be 100 MiB) are mapped
  // and unmapped per scrape instead of raising glibc's dynamic threshold and staying resident.
  ::mallopt(M_MMAP_THRESHOLD, 1 << 20);
  spdlog::info("certwatch {} agent starting, config {}", CERTWATCH_VERSION, config_path);
  boost::asio::io_context io(1);
  agent::DaemonOptions opt;
  opt.config_path = config_path;
  opt.scan_threads = threads;
  agent::Daemon daemon(io, opt);
  return daemon.run();
}

const CommandRegistration kRegistration{
    "agent", "run the agent daemon (watch, judge, serve metrics)", run_agent};

}  // namespace
}  // namespace certwatch
