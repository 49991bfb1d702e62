#include "exporters/mqtt/payloads.h"

#include "base/duration.h"
#include "base/json.h"

namespace certwatch::exporters::mqtt {
namespace {

// The fields alerts and events share.
void alert_fields(certwatch::JsonWriter& w, const AlertInfo& info, std::string_view host,
                  int64_t since, int64_t now) {
  w.key("schema").value(kSchemaVersion);
  w.key("host").value(host);
  w.key("key").value(info.key);
  w.key("source").value(info.source);
  w.key("target").value(info.target);
  w.key("finding_target").value(info.finding_target);
  w.key("finding").value(info.id);
  w.key("severity").value(pki::to_string(info.severity));
  w.key("message").value(info.message);
  w.key("subject_cn");
  info.subject_cn.empty() ? w.null() : w.value(info.subject_cn);
  w.key("serial");
  info.serial.empty() ? w.null() : w.value(info.serial);
  w.key("not_after");
  info.not_after ? w.value(certwatch::format_iso8601(*info.not_after)) : w.null();
  w.key("seconds_left");
  info.not_after ? w.value(*info.not_after - now) : w.null();
  w.key("since").value(certwatch::format_iso8601(since));
  if (info.fingerprint.empty()) return;
  // A certificate's own finding: which certificate, where it lives, how its renewal stands.
  w.key("fingerprint_sha256").value(info.fingerprint);
  w.key("places").begin_array();
  for (const auto& p : info.places) {
    w.begin_object();
    w.key("source").value(p.source);
    w.key("target").value(p.target);
    w.key("index").value(p.index);
    w.end_object();
  }
  w.end_array();
  w.key("places_total").value(static_cast<int64_t>(info.places_total));
  if (!info.renewal) return;
  const auto& r = *info.renewal;
  w.key("renewal").begin_object();
  w.key("managed").value(r.managed);
  w.key("due_at");
  r.due_at != 0 ? w.value(certwatch::format_iso8601(r.due_at)) : w.null();
  w.key("next_at");
  r.next_at != 0 ? w.value(certwatch::format_iso8601(r.next_at)) : w.null();
  w.key("failures").value(r.failures);
  w.key("last_error");
  r.last_error.empty() ? w.null() : w.value(r.last_error);
  w.end_object();
}

}  // namespace

std::string alert_payload(const AlertInfo& info, std::string_view host, int64_t since,
                          int64_t now) {
  certwatch::JsonWriter w;
  w.begin_object();
  alert_fields(w, info, host, since, now);
  w.end_object();
  return w.take();
}

std::string event_payload(const AlertTransition& t, std::string_view host, int64_t now) {
  certwatch::JsonWriter w;
  w.begin_object();
  w.key("event").value(to_string(t.event));
  w.key("at").value(certwatch::format_iso8601(t.at));
  w.key("previous_severity");
  t.previous ? w.value(pki::to_string(*t.previous)) : w.null();
  alert_fields(w, t.info, host, t.since, now);
  w.end_object();
  return w.take();
}

std::string renewal_event_payload(const RenewalEvent& e, std::string_view host, int64_t now) {
  certwatch::JsonWriter w;
  w.begin_object();
  w.key("event").value(e.ok ? "renewed" : "renewal_failed");
  w.key("at").value(certwatch::format_iso8601(now));
  w.key("schema").value(kSchemaVersion);
  w.key("host").value(host);
  w.key("source").value("ledger");
  w.key("target").value("managed/" + e.name);
  w.key("managed").value(e.name);
  w.key("serial");
  e.serial.empty() ? w.null() : w.value(e.serial);
  w.key("not_after");
  e.not_after != 0 ? w.value(certwatch::format_iso8601(e.not_after)) : w.null();
  w.key("verified").value(e.verified);
  w.key("rolled_back").value(e.rolled_back);
  w.key("seconds").value(e.seconds);
  w.key("message").value(e.ok ? std::string("renewed, deployed and reloaded") : e.error);
  w.end_object();
  return w.take();
}

}  // namespace certwatch::exporters::mqtt
