// The renewal schedule as JSON, for GET /api/v1/renewals: one object per managed certificate
// (name, serial, not_after, due_at, next_at, last_success, failures, last_error, running,
// served: whether the server serves that serial, null when not known).
// Thread-safety: io_context thread only (reads the scheduler).
#pragma once

#include <string>

#include "agent/renew/scheduler.h"

namespace certwatch::agent {

std::string render_renewals_json(const RenewScheduler& scheduler, int64_t now);

}  // namespace certwatch::agent
