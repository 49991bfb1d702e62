// `certwatch config check FILE`: validates a config exactly as the agent loads it (same loader)
// without starting anything. Exit 0 and a summary when valid; every problem as
// FILE:LINE:COL: message on stderr and exit 3 otherwise.
#include <cstdio>
#include <string>
#include <vector>

#include "agent/cli/command.h"
#include "base/duration.h"
#include "base/json.h"
#include "config/loader.h"

namespace certwatch {
namespace {

constexpr const char* kUsage =
    "Usage: certwatch config check [--json] [--no-file-checks] FILE\n"
    "\n"
    "Validates the agent's YAML config FILE without running anything: syntax, keys, types,\n"
    "durations, enum values, addresses, required keys, referenced files. Every problem is\n"
    "printed as FILE:LINE:COLUMN: message.\n"
    "\n"
    "Options:\n"
    "  --json            print the result as JSON on stdout\n"
    "  --no-file-checks  skip the \"file exists\" checks (a config for another machine)\n"
    "  -h, --help        show this help\n"
    "\n"
    "Exit status: 0 valid, 3 invalid or usage error.\n";

size_t count_recursive(const config::Config& c) {
  size_t n = 0;
  for (const auto& w : c.watch) n += w.recursive ? 1 : 0;
  return n;
}

void print_summary(const std::string& file, const config::Config& c) {
  std::printf("%s: ok\n", file.c_str());
  std::printf("  http:       %s\n", c.http.listen.to_string().c_str());
  std::printf("  agent:      state %s, rescan every %s, debounce %lldms\n",
              c.agent.state_dir.c_str(),
              certwatch::format_duration(c.agent.rescan_interval.count()).c_str(),
              static_cast<long long>(c.agent.debounce.count()));
  std::printf("  trust:      %zu\n", c.trust.size());
  std::printf("  watch:      %zu (%zu recursive)\n", c.watch.size(), count_recursive(c));
  std::printf("  endpoints:  %zu\n", c.endpoints.size());
  std::printf("  mqtt:       %s\n", c.mqtt ? c.mqtt->broker.c_str() : "off");
  std::printf("  issuers:    %zu\n", c.issuers.size());
  std::printf("  managed:    %zu\n", c.managed.size());
  std::printf("  severities: %zu override(s)\n", c.severities.size());
}

// One key/value pair per line reads better than the formatter's split.
// clang-format off
std::string to_json(const std::string& file, const config::LoadReport& report) {
  certwatch::JsonWriter w;
  w.begin_object().key("file").value(file).key("ok").value(report.config.has_value());
  w.key("problems").begin_array();
  for (const auto& p : report.problems) {
    w.begin_object()
        .key("file").value(p.file)
        .key("line").value(p.line)
        .key("column").value(p.column)
        .key("message").value(p.message)
        .end_object();
  }
  w.end_array();
  if (const auto& c = report.config) {
    w.key("summary").begin_object()
        .key("listen").value(c->http.listen.to_string())
        .key("trust").value(static_cast<int64_t>(c->trust.size()))
        .key("watch").value(static_cast<int64_t>(c->watch.size()))
        .key("endpoints").value(static_cast<int64_t>(c->endpoints.size()))
        .key("mqtt").value(c->mqtt.has_value())
        .key("issuers").value(static_cast<int64_t>(c->issuers.size()))
        .key("managed").value(static_cast<int64_t>(c->managed.size()))
        .key("severity_overrides").value(static_cast<int64_t>(c->severities.size()))
        .end_object();
  }
  w.end_object();
  return w.take();
}

// clang-format on

int usage_error(const std::string& message) {
  return certwatch::usage_error("certwatch config", message);
}

int run_config(const std::vector<std::string>& args) {
  if (args.size() < 2) return usage_error("missing subcommand (check)");
  if (args[1] == "-h" || args[1] == "--help") {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  if (args[1] != "check") return usage_error("unknown subcommand '" + args[1] + "'");
  bool json = false;
  config::LoadOptions options;
  std::vector<std::string> files;
  for (size_t i = 2; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return kExitOk;
    }
    if (a == "--json") {
      json = true;
    } else if (a == "--no-file-checks") {
      options.check_files = false;
    } else if (a.size() > 1 && a.front() == '-') {
      return usage_error("unknown option '" + a + "'");
    } else {
      files.push_back(a);
    }
  }
  if (files.size() != 1) return usage_error("give exactly one FILE");

  const std::string& file = files.front();
  const config::LoadReport report = config::check_config(file, options);
  if (json) {
    std::printf("%s\n", to_json(file, report).c_str());
    return report.config ? kExitOk : kExitUsage;
  }
  if (report.config) {
    print_summary(file, *report.config);
    return kExitOk;
  }
  for (const auto& p : report.problems) std::fprintf(stderr, "%s\n", p.to_string().c_str());
  std::fprintf(stderr, "%s: %zu problem%s; the agent would not start\n", file.c_str(),
               report.problems.size(), report.problems.size() == 1 ? "" : "s");
  return kExitUsage;
}

const CommandRegistration kRegistration{
    "config", "validate an agent config file (config check FILE)", run_config};

}  // namespace
}  // namespace certwatch
