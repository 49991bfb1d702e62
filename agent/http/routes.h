// The agent's route table: one handler per path, registered on the HttpServer once. Each
// handler reads the state it serves (the inventory, the metrics registry, the status) on the
// io_context's thread; none of them routes again.
//
//   /metrics              Prometheus text 0.0.4 (the cached gzip form when the client asks)
//   /healthz              "ok" once the first scan finished, 503 before
//   /api/v1/certificates  the inventory as JSON (status_page.h)
//   /api/v1/renewals      the renewal schedule as JSON (renew/renew_json.h)
//   /                     the status page
// The start-up log names the paths of this table (route_list), so a route added here is
// announced without a second list to keep in step.
#pragma once

#include <utility>

#include <string>
#include <vector>

#include "agent/clock/clock.h"
#include "agent/http/status_page.h"
#include "agent/inventory/inventory.h"
#include "agent/metrics/agent_metrics.h"
#include "agent/server/http_server.h"

namespace certwatch::agent {

// What the routes read. References: the owner (the daemon) outlives the server.
struct AgentView {
  const Inventory& inventory;
  AgentMetrics& metrics;  // not const: the gzip cache is filled on demand
  const AgentStatus& status;
  const Clock& clock;
  const RenewScheduler& renewals;  // its schedule is empty when nothing is managed
};

using RouteTable = std::vector<std::pair<std::string, HttpHandler>>;

RouteTable agent_routes(AgentView view);

// "/metrics, /healthz, ... and /": the table's paths in order, for the start-up log.
std::string route_list(const RouteTable& routes);

}  // namespace certwatch::agent
