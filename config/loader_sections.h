// The schema of the config file, one reader per section: config/loader.cpp walks the top-level
// mapping and hands each section to `Schema`, whose readers live one file per section
// (config/loader_<section>.cpp), with the field readers they share in loader_fields.cpp and the
// checks across sections in loader_checks.cpp. Every read reports into the YamlReader at the
// value's line:col and fills what it could, so one load reports every problem of the file.
// Internal to config/: not part of the loader's API (config/loader.h).
// Not thread-safe: one Schema per load.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace certwatch::config::sections {

using Need = YamlReader::Need;

inline constexpr std::array<std::string_view, 3> kSeverities{"info", "warning", "critical"};

// Letters, digits, '-', '_', '.': entry names, users and groups, unit names.
bool is_name(std::string_view s);

// Parses one section or entry; each method reports into `r` and fills what it could.
class Schema {
 public:
  explicit Schema(YamlReader& r) : r_(r) {}

  // config/loader_agent.cpp
  void agent(const Field& f, AgentConfig& out);
  void http(const Field& f, HttpConfig& out);
  void severities(const Field& f, std::map<std::string, pki::Severity>& out);
  // config/loader_watch.cpp
  void watch(const Field& f, WatchEntry& out);
  // config/loader_endpoints.cpp
  void endpoint(const Field& f, EndpointEntry& out);
  // config/loader_mqtt.cpp
  void mqtt(const Field& f, MqttConfig& out);
  // config/loader_issuers.cpp
  void issuer(const Field& f, IssuerEntry& out);
  // config/loader_managed.cpp
  void managed(const Field& f, ManagedEntry& out);

 private:
  // config/loader_managed.cpp
  void reload(const Field& f, Reload& out);
  std::optional<std::string> account(const Field& f);
  std::optional<uint32_t> file_mode(const Field& f);

  // Shared by several sections (config/loader_fields.cpp; this template here).
  std::vector<std::string> clients(const Field& f);
  template <class T>
  void both_or_neither(const MapFields& m, std::string_view a, std::string_view b,
                       std::optional<T>& out_a, std::optional<T>& out_b) {
    const Field* fa = m.get(a);
    const Field* fb = m.get(b);
    if (fa != nullptr) out_a = r_.path(*fa, Need::file);
    if (fb != nullptr) out_b = r_.path(*fb, Need::file);
    if ((fa == nullptr) != (fb == nullptr))
      r_.problem((fa != nullptr ? fa : fb)->key_mark, m.where() + ": " + std::string(a) + " and " +
                                                          std::string(b) +
                                                          " go together: give both or neither");
  }
  std::optional<HostPort> host_port(const Field& f);
  std::optional<std::string> host_name(const Field& f);
  std::string entry_name(const Field& f);
  std::optional<std::string> checked(const Field& f, bool (*ok)(std::string_view),
                                     std::string_view what, std::string_view expected);

  YamlReader& r_;
};

// The checks across entries, after every section was read (config/loader_checks.cpp).
// An endpoint's target names its inventory targets and metric series: one entry per target.
void check_unique_endpoints(YamlReader& r, const Config& c, const std::vector<Field>& fields);
// Unique watch paths and names, issuer references.
void cross_check(YamlReader& r, const Config& c, const std::vector<Field>& watch_fields,
                 const std::vector<Field>& issuer_fields, const std::vector<Field>& managed_fields);

}  // namespace certwatch::config::sections
