// What the agent serves besides /metrics: the JSON inventory (/api/v1/certificates), the
// HTML status page (/: expiry timeline, certificates, findings by target) and /healthz.
// Pure functions of the inventory and the clock, so they are tested without a server.
// Thread-safety: call on the io_context thread (the inventory is not locked).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "agent/inventory/inventory.h"
#include "agent/renew/scheduler.h"

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

// The inventory by certificate and by place (issue 21):
// {"generated_at":...,
//  "counts":{"certificates": distinct certificates (by SHA-256), "places": their places},
//  "certificates":[{"fingerprint_sha256","subject","subject_cn","issuer","issuer_cn","serial",
//    "not_before","not_after","seconds_left","sans","key_type","role" (at its first place),
//    "findings": its own findings, once (pki::scope_of: certificate)
//    [{id,severity,target,message}], "places":[{"source","target","index","role", files: "watch",
//    endpoints: "endpoint" and
//      "address", managed entries: "managed", "findings": that place's own findings about this
//      certificate or about the whole place}]}] (ordered by first place),
//  "targets":[{"target","source" ("file"),"watch" (the watch path),"trusted","verify_error",
//    "certificates":[{...,"seconds_left"}], "findings":[{id,severity,target,message}],
//    endpoints only: "probe":{endpoint,address,success,tls_version,cipher,duration_seconds,
//    probed_at,last_success}}] (one per place, every finding of each, as before issue 21)}
std::string render_certificates_json(const Inventory& inventory, int64_t now);
// The page at `/` (agent/http/status_html.cpp): timeline, one sortable/filterable row per
// certificate with its places, the places' own findings grouped by target; self-contained.
// `renewals`: the schedule of managed certificates (agent/renew), shown when not empty.
std::string render_status_html(const Inventory& inventory, const AgentStatus& status, int64_t now,
                               const std::vector<RenewStatus>& renewals = {});
// "ok" body for /healthz; the HTTP status is 503 until the first scan finished.
std::string render_health(const AgentStatus& status);

// Escapes &, <, >, " and ' for HTML text and attribute values.
std::string html_escape(std::string_view s);

}  // namespace certwatch::agent
