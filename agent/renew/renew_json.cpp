#include "agent/renew/renew_json.h"

#include "base/json.h"

namespace certwatch::agent {

std::string render_renewals_json(const RenewScheduler& scheduler, int64_t now) {
  certwatch::JsonWriter w;
  w.begin_object().key("now").value(now).key("renewals").begin_array();
  for (const auto& s : scheduler.status()) {
    w.begin_object()
        .key("name")
        .value(s.name)
        .key("serial")
        .value(s.serial)
        .key("not_after")
        .value(s.not_after)
        .key("due_at")
        .value(s.due_at)
        .key("due_by")
        .value(s.ari ? "ari" : "schedule")
        .key("next_at")
        .value(s.next_at)
        .key("last_success")
        .value(s.last_success)
        .key("failures")
        .value(s.failures)
        .key("last_error")
        .value(s.last_error)
        .key("running")
        .value(s.running)
        // Whether the server serves `serial` (reconcile.h); null: not known.
        .key("served");
    if (s.served < 0)
      w.null();
    else
      w.value(s.served == 1);
    w.end_object();
  }
  w.end_array().end_object();
  return w.take();
}

}  // namespace certwatch::agent
