// What the agent serves besides /metrics: the JSON inventory (/api/v1/certificates), the
// HTML status page (/: expiry timeline, certificates, findings by target) and /healthz.
// Pure functions of the inventory and the clock, so they are tested without a server.
// Thread-safety: call on the io_context thread (the inventory is not locked).
#pragma once

#include <cstdint>
#include <string>

#include "agent/inventory/inventory.h"

namespace certwatch::agent {

struct AgentStatus {
  std::string config_path;
  int64_t started_at = 0;
  int64_t last_scan_at = 0;
  double last_scan_seconds = 0;
  bool ready = false;  // the first scan finished
  std::size_t files = 0;
  std::string last_config_error;  // the reload that was refused, "" if none
};

// {"generated_at":..., "targets":[{"target","source" ("file"),"watch" (the watch path),
//   "trusted","verify_error",
//   "certificates":[{...,"seconds_left"}], "findings":[{id,severity,target,message}],
//   endpoints only: "probe":{endpoint,address,success,tls_version,cipher,duration_seconds,
//   probed_at,last_success}}]}
std::string render_certificates_json(const Inventory& inventory, int64_t now);
// The page at `/` (agent/http/status_html.cpp): timeline, sortable/filterable certificates,
// findings grouped by target; self-contained (no external assets).
std::string render_status_html(const Inventory& inventory, const AgentStatus& status, int64_t now);
// "ok" body for /healthz; the HTTP status is 503 until the first scan finished.
std::string render_health(const AgentStatus& status);

// Escapes &, <, >, " and ' for HTML text and attribute values.
std::string html_escape(std::string_view s);

}  // namespace certwatch::agent
