// The finding catalogue: the shared language of the CLI, metrics, MQTT alerts and the API.
// Ids are contracts (../shared/DESIGN.md): add to the catalogue, never rename.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace certwatch::pki {

// Ordered by how bad: worst() relies on it. `unknown` is input that could not be read; for
// exit codes it ranks between warning and critical (Nagios: 3 only when nothing is critical).
enum class Severity { info = 0, warning = 1, unknown = 2, critical = 3 };

std::string_view to_string(Severity s);
std::optional<Severity> severity_from_string(std::string_view s);

struct FindingKind {
  std::string_view id;
  Severity default_severity;
  std::string_view summary;   // one line, for --help, the status page and docs
  std::string_view citation;  // RFC section, seed or field note the rule comes from
};

// Every id, in catalogue order.
std::span<const FindingKind> catalogue();
const FindingKind* find_kind(std::string_view id);

struct Finding {
  std::string id;
  Severity severity = Severity::warning;
  std::string target;   // file path, "path#index" for one certificate, or host:port
  std::string message;  // never contains key material

  bool operator==(const Finding&) const = default;
};

// Per-id severity overrides from config or CLI. Unknown ids are rejected by the caller.
class SeverityPolicy {
 public:
  Severity severity_of(std::string_view id) const;
  void set(std::string id, Severity s) { overrides_[std::move(id)] = s; }

 private:
  std::map<std::string, Severity, std::less<>> overrides_;
};

// Makes a finding with the policy's severity for its id. Asserts that the id is catalogued.
Finding make_finding(const SeverityPolicy& policy, std::string_view id, std::string target,
                     std::string message);

// Nagios exit code for a set of findings: 0 nothing worse than info, 1 warning, 2 critical,
// 3 unknown when nothing is critical.
int nagios_exit_code(std::span<const Finding> findings);

}  // namespace certwatch::pki
