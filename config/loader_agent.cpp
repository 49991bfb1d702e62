// The agent-wide sections of the config: `agent:`, `http:` and `severities:`.
#include "base/duration.h"
#include "config/address.h"
#include "config/loader_sections.h"

namespace certwatch::config::sections {

void Schema::agent(const Field& f, AgentConfig& out) {
  const auto m = r_.map(f, {"state_dir", "rescan_interval", "thresholds", "debounce",
                            "probe_concurrency", "renew_retry", "issued_clock_skew"});
  if (const auto* v = m.get("state_dir"))
    if (auto p = r_.path(*v, Need::nothing)) out.state_dir = *p;
  if (const auto* v = m.get("rescan_interval"))
    if (auto d = r_.duration(*v, Seconds{1})) out.rescan_interval = *d;
  if (const auto* v = m.get("debounce"))
    if (auto d = r_.duration_ms(*v, Milliseconds{0})) out.debounce = *d;
  if (const auto* v = m.get("probe_concurrency"))
    if (auto n = r_.integer(*v, 1, 10000)) out.probe_concurrency = static_cast<uint32_t>(*n);
  if (const auto* v = m.get("renew_retry"))
    if (auto d = r_.duration(*v, Seconds{1}, Seconds{3600})) out.renew_retry = *d;
  if (const auto* v = m.get("issued_clock_skew"))
    if (auto d = r_.duration(*v, Seconds{0}, Seconds{86400})) out.issued_clock_skew = *d;
  if (const auto* v = m.get("thresholds")) {
    const auto t = r_.map(*v, {"warning", "critical"});
    const Field* w = t.get("warning");
    const Field* c = t.get("critical");
    if (w != nullptr)
      if (auto d = r_.duration(*w, Seconds{1})) out.thresholds.warning_seconds = d->count();
    if (c != nullptr)
      if (auto d = r_.duration(*c, Seconds{1})) out.thresholds.critical_seconds = d->count();
    if (out.thresholds.critical_seconds >= out.thresholds.warning_seconds)
      r_.problem(c != nullptr ? c->mark() : t.mark(),
                 "agent.thresholds: critical must be shorter than warning");
  }
}

void Schema::http(const Field& f, HttpConfig& out) {
  const auto m = r_.map(f, {"listen", "max_connections", "max_connections_per_client",
                            "request_timeout", "max_header_bytes", "max_body_bytes"});
  if (const auto* v = m.get("listen")) {
    if (auto s = r_.string(*v)) {
      auto addr = parse_listen_address(*s);
      if (addr)
        out.listen = *addr;
      else
        r_.problem(v->mark(), v->where + ": " + addr.error().message);
    }
  }
  if (const auto* v = m.get("max_connections"))
    if (auto n = r_.integer(*v, 1, 100000)) out.max_connections = static_cast<uint32_t>(*n);
  if (const auto* v = m.get("max_connections_per_client"))
    if (auto n = r_.integer(*v, 1, 100000))
      out.max_connections_per_client = static_cast<uint32_t>(*n);
  if (const auto* v = m.get("request_timeout"))
    if (auto d = r_.duration(*v, Seconds{1})) out.request_timeout = *d;
  if (const auto* v = m.get("max_header_bytes"))
    if (auto n = r_.integer(*v, 1024, 1 << 20)) out.max_header_bytes = static_cast<uint32_t>(*n);
  if (const auto* v = m.get("max_body_bytes"))
    if (auto n = r_.integer(*v, 0, 1 << 24)) out.max_body_bytes = static_cast<uint32_t>(*n);
}

void Schema::severities(const Field& f, std::map<std::string, pki::Severity>& out) {
  if (f.value.IsDefined() && !f.value.IsNull() && !f.value.IsMap()) {
    r_.map(f, {});  // reports the wrong type
    return;
  }
  std::vector<std::string_view> ids;
  for (const auto& kind : pki::catalogue()) ids.push_back(kind.id);
  for (const auto& kv : f.value) {
    const std::string id = kv.first.IsScalar() ? kv.first.Scalar() : "";
    const Field value{"severities." + id, kv.second, kv.first.Mark()};
    if (pki::find_kind(id) == nullptr) {
      std::string msg = "severities: unknown finding id '" + id + "'";
      if (auto best = closest_match(id, ids); !best.empty())
        msg += " (did you mean '" + best + "'?)";
      r_.problem(kv.first.Mark(), msg);
      continue;
    }
    if (out.count(id) != 0) {
      r_.problem(kv.first.Mark(), "duplicate key '" + id + "' in severities");
      continue;
    }
    if (auto i = r_.choice(value, kSeverities))
      out[id] = *pki::severity_from_string(kSeverities[*i]);
  }
}

}  // namespace certwatch::config::sections
