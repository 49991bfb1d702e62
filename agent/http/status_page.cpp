#include "agent/http/status_page.h"

#include <algorithm>
#include <ctime>
#include <vector>

#include "agent/http/certificate_view.h"
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

namespace {

void write_findings(certwatch::JsonWriter& w, const std::vector<const pki::Finding*>& fs) {
  w.begin_array();
  for (const auto* f : fs) {
    w.begin_object();
    pki::write_json_fields(w, *f);
    w.end_object();
  }
  w.end_array();
}

// One place of a certificate: where it is, and what is wrong with that place.
void write_place(certwatch::JsonWriter& w, const Place& p) {
  w.begin_object()
      .key("source")
      .value(to_string(p.target().source))
      .key("target")
      .value(p.target().id)
      .key("index")
      .value(p.record().index)
      .key("role")
      .value(to_string(p.record().role));
  if (const FileState* f = p.entry().file()) w.key("watch").value(f->watch);
  if (const EndpointState* e = p.entry().endpoint())
    w.key("endpoint").value(e->endpoint).key("address").value(e->address);
  if (const ManagedState* m = p.entry().managed()) w.key("managed").value(m->name);
  w.key("findings");
  write_findings(w, place_findings(p));
  w.end_object();
}

void write_certificate(certwatch::JsonWriter& w, const Certificate& c, int64_t now) {
  const pki::CertRecord& r = *c.record;
  w.begin_object()
      .key("fingerprint_sha256")
      .value(r.sha256)
      .key("subject")
      .value(r.subject)
      .key("subject_cn")
      .value(r.subject_cn)
      .key("issuer")
      .value(r.issuer)
      .key("issuer_cn")
      .value(r.issuer_cn)
      .key("serial")
      .value(r.serial)
      .key("not_before")
      .value(r.not_before)
      .key("not_after")
      .value(r.not_after)
      .key("seconds_left")
      .value(r.not_after - now)
      .key("sans")
      .begin_array();
  for (const auto& s : r.sans) w.value(s);
  w.end_array()
      .key("key_type")
      .value(r.key_type)
      .key("role")
      .value(to_string(c.first_place().record().role))
      .key("findings");
  const std::vector<pki::Finding> own_findings = c.findings();
  std::vector<const pki::Finding*> own;
  for (const auto& f : own_findings) own.push_back(&f);
  write_findings(w, own);
  w.key("places").begin_array();
  for (const Place* p : c.sorted_places()) write_place(w, *p);
  w.end_array().end_object();
}

}  // namespace

std::string render_certificates_json(const Inventory& inventory, int64_t now) {
  certwatch::JsonWriter w;
  const auto certs = inventory.certificates().by_first_place();
  std::size_t places = 0;
  for (const auto* c : certs) places += c->places.size();
  w.begin_object().key("generated_at").value(now);
  w.key("counts")
      .begin_object()
      .key("certificates")
      .value(static_cast<int64_t>(certs.size()))
      .key("places")
      .value(static_cast<int64_t>(places))
      .end_object();
  w.key("certificates").begin_array();
  for (const auto* c : certs) write_certificate(w, *c, now);
  w.end_array();
  w.key("targets").begin_array();
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
