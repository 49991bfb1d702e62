#include "agent/status_page.h"

#include <algorithm>
#include <ctime>
#include <vector>

#include "pki/duration.h"
#include "pki/json.h"
#include "pki/text_escape.h"

namespace certwatch::agent {
namespace {

std::string time_left(int64_t seconds) {
  if (seconds < 0) return "expired " + pki::format_duration(-seconds) + " ago";
  // Round to minutes: seconds make the page noisy.
  return pki::format_duration(seconds - seconds % 60);
}

}  // namespace

std::string html_escape(std::string_view given) {
  // The page is UTF-8: other bytes as "\xNN", as in the metrics and the API (issue 15).
  const std::string escaped = pki::needs_escape(given) ? pki::escape_text(given) : std::string();
  const std::string_view s = escaped.empty() ? given : std::string_view(escaped);
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string render_certificates_json(const Inventory& inventory, int64_t now) {
  pki::JsonWriter w;
  w.begin_object().key("generated_at").value(now).key("targets").begin_array();
  for (const auto& [target, e] : inventory.entries()) {
    const auto& r = e.report;
    w.begin_object().key("target").value(target).key("source").value(e.source);
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
    w.end_array().end_object();
  }
  w.end_array().end_object();
  return w.take();
}

std::string render_status_html(const Inventory& inventory, const AgentStatus& status, int64_t now) {
  struct Row {
    const std::string* target;
    const pki::CertRecord* cert;
  };
  std::vector<Row> rows;
  std::vector<const pki::Finding*> findings;
  for (const auto& [target, e] : inventory.entries()) {
    for (const auto& c : e.certs) rows.push_back({&target, c.get()});
    for (const auto& f : e.report.findings) findings.push_back(&f);
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    if (a.cert->not_after != b.cert->not_after) return a.cert->not_after < b.cert->not_after;
    if (*a.target != *b.target) return *a.target < *b.target;
    return a.cert->index < b.cert->index;
  });
  std::stable_sort(findings.begin(), findings.end(), [](const pki::Finding* a, const pki::Finding* b) {
    return a->severity > b->severity;  // critical first
  });

  std::string h;
  h.reserve(4096 + rows.size() * 300);
  h += "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>certwatch</title>\n"
       "<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}"
       "td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;font-size:90%}"
       ".critical,.unknown{background:#fdd}.warning{background:#ffd}</style></head><body>\n"
       "<h1>certwatch</h1>\n<p>";
  h += "config " + html_escape(status.config_path) + " &middot; " + std::to_string(status.files) +
       " files &middot; " + std::to_string(inventory.certificate_count()) + " certificates";
  if (status.last_scan_at > 0) h += " &middot; last full scan " + pki::format_iso8601(status.last_scan_at);
  h += " &middot; now " + pki::format_iso8601(now) + "</p>\n";
  if (!status.last_config_error.empty())
    h += "<p class=\"critical\">Last reload refused, running on the previous config:<br><pre>" +
         html_escape(status.last_config_error) + "</pre></p>\n";
  h += "<p><a href=\"/metrics\">/metrics</a> &middot; <a href=\"/api/v1/certificates\">"
       "/api/v1/certificates</a> &middot; <a href=\"/healthz\">/healthz</a></p>\n";

  h += "<h2>Certificates (" + std::to_string(rows.size()) + ", soonest expiry first)</h2>\n"
       "<table><tr><th>expires</th><th>left</th><th>subject CN</th><th>issuer CN</th>"
       "<th>role</th><th>file</th><th>#</th><th>serial</th></tr>\n";
  for (const auto& r : rows) {
    const int64_t left = r.cert->not_after - now;
    const char* cls = left < 0 ? "critical" : left < 7 * 86400 ? "warning" : "";
    h += "<tr class=\"";
    h += cls;
    h += "\"><td>" + pki::format_iso8601(r.cert->not_after) + "</td><td>" + time_left(left) + "</td><td>" +
         html_escape(r.cert->subject_cn) + "</td><td>" + html_escape(r.cert->issuer_cn) +
         "</td><td>" + html_escape(r.cert->role) + "</td><td>" + html_escape(*r.target) +
         "</td><td>" + std::to_string(r.cert->index) + "</td><td>" + html_escape(r.cert->serial) +
         "</td></tr>\n";
  }
  h += "</table>\n<h2>Findings (" + std::to_string(findings.size()) + ")</h2>\n"
       "<table><tr><th>severity</th><th>id</th><th>target</th><th>message</th></tr>\n";
  for (const auto* f : findings) {
    const std::string sev(pki::to_string(f->severity));
    h += "<tr class=\"" + sev + "\"><td>" + sev + "</td><td>" + html_escape(f->id) + "</td><td>" +
         html_escape(f->target) + "</td><td>" + html_escape(f->message) + "</td></tr>\n";
  }
  h += "</table>\n</body></html>\n";
  return h;
}

std::string render_health(const AgentStatus& status) {
  return status.ready ? "ok\n" : "starting: first scan not finished\n";
}

}  // namespace certwatch::agent
