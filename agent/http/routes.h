// The agent's route table: one handler per path, registered on the HttpServer once. Each
// handler reads the state it serves (the inventory, the metrics registry, the status) on the
// io_context's thread; none of them routes again.
//
//   /metrics              Prometheus text 0.0.4 (the cached gzip form when the client asks)
//   /healthz              "ok" once the first scan finished, 503 before
//   /api/v1/certificates  the inventory as JSON (status_page.h)
//   /                     the status page
#pragma once

#include <utility>

#include <functional>
#include <string>
#include <vector>

#include "agent/clock/clock.h"
#include "agent/http/http_server.h"
#include "agent/http/status_page.h"
#include "agent/inventory/inventory.h"
#include "agent/metrics/agent_metrics.h"

namespace certwatch::agent {

// What the routes read. References: the owner (the daemon) outlives the server.
struct AgentView {
  const Inventory& inventory;
  AgentMetrics& metrics;  // not const: the gzip cache is filled on demand
  const AgentStatus& status;
  const Clock& clock;
  // The renewal schedule (empty when nothing is managed).
  std::function<std::vector<RenewStatus>()> renewals;
};

std::vector<std::pair<std::string, HttpHandler>> agent_routes(AgentView view);

}  // namespace certwatch::agent
