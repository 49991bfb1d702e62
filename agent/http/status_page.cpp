#include "agent/http/status_page.h"

#include <algorithm>
#include <ctime>
#include <vector>

#include "base/duration.h"
#include "base/json.h"
#include "base/text_escape.h"
#include "exporters/prometheus/metric_names.h"
#include "pki/verify/clients.h"

namespace certwatch::agent {

std::string html_escape(std::string_view given) {
  // The page is UTF-8: other bytes as "\xNN", as in the metrics and the API (issue 15).
  const std::string escaped =
      certwatch::needs_escape(given) ? certwatch::escape_text(given) : std::string();
  const std::string_view s = escaped.empty() ? given : std::string_view(escaped);
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string render_certificates_json(const Inventory& inventory, int64_t now) {
  certwatch::JsonWriter w;
  w.begin_object().key("generated_at").value(now).key("targets").begin_array();
  for (const auto& [target, e] : inventory.entries()) {
    const auto& r = e.report;
    // source is the kind, as on the metrics; the watch entry a file came from is `watch`.
    w.begin_object().key("target").value(target.id).key("source").value(to_string(target.source));
    w.key("watch").value(e.file() != nullptr ? e.file()->watch : std::string());
    w.key("trusted").value(r.trusted).key("verify_error");
    if (r.verify_error)
      w.value(*r.verify_error);
    else
      w.null();
    w.key("certificates").begin_array();
    for (const auto& cp : e.certs) {
      const pki::CertRecord& c = *cp;
      w.begin_object();
      pki::write_json_fields(w, c);
      w.key("seconds_left").value(c.not_after - now).end_object();
    }
    w.end_array().key("findings").begin_array();
    for (const auto& f : r.findings) {
      w.begin_object();
      pki::write_json_fields(w, f);
      w.end_object();
    }
    w.end_array();
    pki::write_json_clients(w, r.clients);  // targets with clients: configured
    if (const EndpointState* p = e.endpoint()) {
      w.key("probe")
          .begin_object()
          .key("endpoint")
          .value(p->endpoint)
          .key("address")
          .value(p->address);
      w.key("success")
          .value(p->success)
          .key("tls_version")
          .value(p->tls_version)
          .key("cipher")
          .value(p->cipher);
      w.key("duration_seconds").value(p->duration_seconds).key("probed_at").value(p->probed_at);
      w.key("last_success");
      if (p->last_success != 0)
        w.value(p->last_success);
      else
        w.null();
      w.end_object();
    }
    w.end_object();
  }
  w.end_array().end_object();
  return w.take();
}

// render_status_html: agent/http/status_html.cpp.

std::string render_health(const AgentStatus& status) {
  return status.ready ? "ok\n" : "starting: first scan not finished\n";
}

}  // namespace certwatch::agent
