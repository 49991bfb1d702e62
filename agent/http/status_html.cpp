// The status page at `/` (render_status_html, declared in agent/http/status_page.h): a summary,
// an SVG timeline of expiries, a sortable and filterable table with one row per certificate
// (issue 21: its places in a <details> list, each with that place's own problems, and the
// certificate's own findings once), and the places' findings grouped by target. One self-contained
// document: styles, script and graphics are inline, so a host without internet access renders it
// (no fonts, scripts or images from elsewhere). Without JavaScript the page is still complete
// (sorted by expiry, nothing hidden); the script only adds sorting (click a column;
// #sort=KEY[-desc] in the URL) and filtering
// (#filter=TEXT). Colours follow the agent's severities, not a fixed day count.
#include <algorithm>
#include <map>
#include <vector>

#include "agent/http/certificate_view.h"
#include "agent/http/status_page.h"
#include "agent/http/status_script.h"
#include "base/duration.h"
#include "pki/judge/finding_scope.h"

namespace certwatch::agent {
namespace {

constexpr int64_t kDay = 86400;

std::string time_left(int64_t seconds) {
  if (seconds < 0) return "expired " + certwatch::format_duration(-seconds) + " ago";
  // Round to minutes: seconds make the page noisy.
  return certwatch::format_duration(seconds - seconds % 60);
}

struct CertRow {
  const Certificate* certificate;
  const pki::CertRecord* cert;  // its facts
  int severity;  // worst of its own findings and its places': -1 none, else pki::Severity
};

struct FindingGroup {
  const std::string* target;
  int worst = -1;
  std::vector<const pki::Finding*> findings;
};

std::string sev_name(int s) {
  return s < 0 ? "ok" : std::string(pki::to_string(static_cast<pki::Severity>(s)));
}

std::string places_text(std::size_t n) {
  return std::to_string(n) + (n == 1 ? " place" : " places");
}

// Expiries on one axis from a week ago to the latest expiry (at least 90 days, at most two
// years ahead); earlier and later ones are stacked at the edges. Each certificate is one
// square in its column (up to kStack, then "+N"), so a large inventory stays a few KiB.
void timeline_svg(std::string& h, const std::vector<CertRow>& rows, int64_t now) {
  constexpr int kBins = 60, kStack = 12, kW = 960, kH = 160, kLeft = 20, kBase = 120, kSq = 7;
  const int64_t start = now - 7 * kDay;
  int64_t end = now + 90 * kDay;
  for (const auto& r : rows) end = std::max(end, std::min(r.cert->not_after, now + 730 * kDay));
  const double bin_w = static_cast<double>(kW - 2 * kLeft) / (kBins + 1);
  const auto x_of = [&](int64_t t) {
    return kLeft +
           static_cast<double>(t - start) / static_cast<double>(end - start) * bin_w * kBins;
  };
  std::vector<std::vector<const CertRow*>> bins(kBins + 1);  // the last one: later than `end`
  for (const auto& r : rows) {
    const int64_t t = std::clamp(r.cert->not_after, start, end + 1);
    const auto b =
        t > end ? kBins : std::min<int64_t>(kBins - 1, (t - start) * kBins / (end - start));
    bins[static_cast<std::size_t>(b)].push_back(&r);
  }
  h += "<svg id=\"timeline\" role=\"img\" aria-label=\"expiry timeline\" viewBox=\"0 0 " +
       std::to_string(kW) + " " + std::to_string(kH) +
       "\" width=\"100%\" preserveAspectRatio=\"xMinYMin meet\">\n";
  h += "<line x1=\"" + std::to_string(kLeft) + "\" y1=\"" + std::to_string(kBase) + "\" x2=\"" +
       std::to_string(kW - kLeft) + "\" y2=\"" + std::to_string(kBase) + "\" class=\"axis\"/>\n";
  for (int i = 0; i <= 6; ++i) {
    const int64_t t = start + (end - start) * i / 6;
    const auto x = std::to_string(static_cast<int>(x_of(t)));
    h += "<line x1=\"" + x + "\" y1=\"" + std::to_string(kBase) + "\" x2=\"" + x + "\" y2=\"" +
         std::to_string(kBase + 5) + "\" class=\"axis\"/><text x=\"" + x + "\" y=\"" +
         std::to_string(kBase + 18) + "\" class=\"tick\" text-anchor=\"" +
         (i == 0   ? "start"
          : i == 6 ? "end"
                   : "middle") +
         "\">" + certwatch::format_iso8601(t).substr(0, 10) + "</text>\n";
  }
  const auto now_x = std::to_string(static_cast<int>(x_of(now)));
  h += "<line x1=\"" + now_x + "\" y1=\"10\" x2=\"" + now_x + "\" y2=\"" + std::to_string(kBase) +
       "\" class=\"now\"/><text x=\"" + now_x +
       "\" y=\"9\" class=\"tick\" text-anchor=\"middle\">now</text>\n";
  h += "<text x=\"" + std::to_string(kW - kLeft) + "\" y=\"" + std::to_string(kBase + 32) +
       "\" class=\"tick\" text-anchor=\"end\">later &#8594;</text>\n";
  for (std::size_t b = 0; b < bins.size(); ++b) {
    const double x = kLeft + bin_w * static_cast<double>(b) + 1;
    for (std::size_t i = 0; i < bins[b].size() && i < kStack; ++i) {
      const CertRow& r = *bins[b][i];
      h += "<rect x=\"" + std::to_string(static_cast<int>(x)) + "\" y=\"" +
           std::to_string(kBase - static_cast<int>(i + 1) * (kSq + 1)) + "\" width=\"" +
           std::to_string(kSq) + "\" height=\"" + std::to_string(kSq) + "\" class=\"" +
           sev_name(r.severity) + "\"><title>" + html_escape(r.cert->subject_cn) + " (" +
           places_text(r.certificate->places.size()) +
           "): " + certwatch::format_iso8601(r.cert->not_after) + "</title></rect>\n";
    }
    if (bins[b].size() > kStack)
      h += "<text x=\"" + std::to_string(static_cast<int>(x)) + "\" y=\"" +
           std::to_string(kBase - (kStack + 1) * (kSq + 1)) + "\" class=\"tick\">+" +
           std::to_string(bins[b].size() - kStack) + "</text>\n";
  }
  h += "</svg>\n";
}

constexpr std::string_view kStyle =
    "<style>body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #ccc;padding:.2em "
    ".5em;"
    "text-align:left;font-size:90%}th{background:#f3f3f3;cursor:pointer;user-select:none}"
    "th[aria-sort=ascending]::after{content:' \\25B2'}th[aria-sort=descending]::after{content:' "
    "\\25BC'}"
    ".critical,.unknown{background:#fdd}.warning{background:#ffd}.info{background:#eef}"
    "rect.ok{fill:#4a4}rect.info{fill:#68c}rect.warning{fill:#db0}rect.critical,rect.unknown{fill:#"
    "d33}"
    ".axis{stroke:#888}.now{stroke:#36c;stroke-dasharray:3 2}.tick{font-size:11px;fill:#555}"
    ".badge{padding:0 .4em;border-radius:.3em}section.group h3{font-size:100%;margin:.8em 0 .3em}"
    "#filter{width:24em;padding:.3em}ul.places,ul.place-findings,ul.cert-findings{margin:.2em 0;"
    "padding-left:1.2em}summary{cursor:pointer}</style>\n";

// What the last probe of each endpoint address saw (absent when no endpoint is configured).
void endpoints_table(std::string& h, const Inventory& inventory, int64_t now) {
  if (inventory.size(SourceKind::endpoint) == 0) return;
  h += "<h2>Endpoints</h2>\n<table "
       "id=\"endpoints\"><thead><tr><th>endpoint</th><th>address</th><th>probe</th>"
       "<th>TLS</th><th>cipher</th><th>duration</th><th>probed</th><th>last "
       "success</th></tr></thead><tbody>\n";
  for (auto it = inventory.entries().lower_bound(TargetId{SourceKind::endpoint, ""});
       it != inventory.entries().end() && it->first.source == SourceKind::endpoint; ++it) {
    const EndpointState* p = it->second.endpoint();
    if (p == nullptr) continue;
    const std::string cls = p->success ? "ok" : "critical";
    h += "<tr class=\"" + cls + "\"><td>" + html_escape(p->endpoint) + "</td><td>" +
         html_escape(p->address.empty() ? std::string("(not resolved)") : p->address) +
         "</td><td>" + (p->success ? "ok" : "failed") + "</td><td>" + html_escape(p->tls_version) +
         "</td><td>" + html_escape(p->cipher) + "</td><td>" +
         std::to_string(static_cast<int64_t>(p->duration_seconds * 1000)) + " ms</td><td>" +
         certwatch::format_iso8601(p->probed_at) + "</td><td>" +
         (p->last_success != 0 ? time_left(now - p->last_success) + " ago" : std::string("never")) +
         "</td></tr>\n";
  }
  h += "</tbody></table>\n";
}

// The renewal schedule: what is deployed, when it is due, how the last attempts went.
void renewals_table(std::string& h, const std::vector<RenewStatus>& renewals, int64_t now) {
  if (renewals.empty()) return;
  h += "<h2>Renewals</h2>\n<table "
       "id=\"renewals\"><thead><tr><th>managed</th><th>serial</th><th>expires</th>"
       "<th>due</th><th>next attempt</th><th>last success</th><th>failures</th><th>last "
       "error</th></tr></thead>"
       "<tbody>\n";
  const auto when = [&](int64_t t) {
    if (t == 0) return std::string("now");
    return certwatch::format_iso8601(t) +
           (t > now ? " (in " + time_left(t - now) + ")" : std::string());
  };
  for (const auto& r : renewals) {
    const std::string cls = r.failures > 0 ? "critical" : r.running ? "info" : "ok";
    h += "<tr class=\"" + cls + "\"><td>" + html_escape(r.name) + (r.running ? " (renewing)" : "") +
         "</td><td>" + html_escape(r.serial) + (r.served == 0 ? " (not served)" : "") +
         "</td><td>" + (r.not_after != 0 ? certwatch::format_iso8601(r.not_after) : "-") +
         "</td><td>" + when(r.due_at) + "</td><td>" + when(r.next_at) + "</td><td>" +
         (r.last_success != 0 ? certwatch::format_iso8601(r.last_success) : std::string("never")) +
         "</td><td>" + std::to_string(r.failures) + "</td><td>" + html_escape(r.last_error) +
         "</td></tr>\n";
  }
  h += "</tbody></table>\n";
}

// A list of findings: "<severity> <id>: <message>" per item, worst first.
void findings_list(std::string& h, std::vector<const pki::Finding*> fs, const char* cls) {
  std::stable_sort(fs.begin(), fs.end(), [](const pki::Finding* a, const pki::Finding* b) {
    return a->severity > b->severity;
  });
  h += "<ul class=\"";
  h += cls;
  h += "\">";
  for (const auto* f : fs) {
    const std::string sev(pki::to_string(f->severity));
    h += "<li class=\"" + sev + "\"><span class=\"badge " + sev + "\">" + sev + "</span> <code>" +
         html_escape(f->id) + "</code> " + html_escape(f->message) + "</li>";
  }
  h += "</ul>";
}

// The places cell: how many, and (expanded on demand) each with its own problems.
void places_cell(std::string& h, const Certificate& c) {
  h += "<td data-v=\"" + std::to_string(c.places.size()) + "\"><details><summary>" +
       places_text(c.places.size()) + "</summary><ul class=\"places\">";
  for (const Place* pp : c.sorted_places()) {
    const Place& p = *pp;
    // The API keeps "ledger" as a managed entry's source (the metrics' word); a reader of
    // the page is better told it is the managed entry.
    const std::string_view kind =
        p.target().source == SourceKind::managed ? "managed" : to_string(p.target().source);
    h += "<li data-target=\"" + html_escape(p.target().id) + "\">" + std::string(kind) + " " +
         html_escape(p.target().id) + " #" + std::to_string(p.record().index) + " (" +
         std::string(to_string(p.record().role)) + ")";
    const auto own = place_findings(p);
    if (!own.empty()) findings_list(h, own, "place-findings");
    h += "</li>";
  }
  h += "</ul></details></td>";
}

}  // namespace

std::string render_status_html(const Inventory& inventory, const AgentStatus& status, int64_t now,
                               const std::vector<RenewStatus>& renewals) {
  std::vector<CertRow> rows;
  std::vector<FindingGroup> groups;
  std::size_t finding_count = 0, places = 0;
  int counts[4] = {0, 0, 0, 0};
  // A certificate's own findings count once (its row lists them); a place's findings count
  // once per place, grouped by target below.
  for (const Certificate* c : inventory.certificates().by_first_place()) {
    rows.push_back({c, c->record.get(), worst_severity(*c)});
    places += c->places.size();
    for (const auto& f : c->findings()) ++counts[static_cast<int>(f.severity)];
  }
  for (const auto& [id, e] : inventory.entries()) {
    FindingGroup g{&id.id, -1, {}};
    for (const auto& f : e.report.findings) {
      if (pki::is_certificate_finding(f.id)) continue;
      const int s = static_cast<int>(f.severity);
      ++counts[s];
      g.worst = std::max(g.worst, s);
      g.findings.push_back(&f);
    }
    finding_count += g.findings.size();
    if (!g.findings.empty()) groups.push_back(std::move(g));
  }
  std::sort(rows.begin(), rows.end(), [](const CertRow& a, const CertRow& b) {
    if (a.cert->not_after != b.cert->not_after) return a.cert->not_after < b.cert->not_after;
    return a.cert->sha256 < b.cert->sha256;
  });
  std::stable_sort(groups.begin(), groups.end(), [](const FindingGroup& a, const FindingGroup& b) {
    return a.worst > b.worst;  // worst target first, then by name (map order)
  });
  for (auto& g : groups)
    std::stable_sort(
        g.findings.begin(), g.findings.end(),
        [](const pki::Finding* a, const pki::Finding* b) { return a->severity > b->severity; });

  std::string h;
  h.reserve(8192 + rows.size() * 600 + places * 200 + finding_count * 200);
  h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
       "<meta name=\"viewport\" "
       "content=\"width=device-width,initial-scale=1\"><title>certwatch</title>\n";
  h += kStyle;
  h += "</head><body>\n<h1>certwatch</h1>\n<p id=\"summary\">";
  const std::size_t addresses = inventory.size(SourceKind::endpoint);
  h += "<span id=\"certificate-count\">" + std::to_string(rows.size()) +
       "</span> certificates in <span id=\"place-count\">" + std::to_string(places) +
       "</span> places (" + std::to_string(status.files) + " files" +
       (addresses != 0 ? ", " + std::to_string(addresses) + " endpoint addresses" : std::string()) +
       ") &middot; <span class=\"badge critical\">" + std::to_string(counts[3] + counts[2]) +
       " critical/unknown</span> <span class=\"badge warning\">" + std::to_string(counts[1]) +
       " warning</span> <span class=\"badge info\">" + std::to_string(counts[0]) +
       " info</span> findings";
  if (status.last_scan_at > 0)
    h += " &middot; last full scan " + certwatch::format_iso8601(status.last_scan_at);
  h += " &middot; now " + certwatch::format_iso8601(now) + " &middot; config " +
       html_escape(status.config_path) + "</p>\n";
  if (!status.last_config_error.empty())
    h += "<p class=\"critical\">Last reload refused, running on the previous config:<br><pre>" +
         html_escape(status.last_config_error) + "</pre></p>\n";
  h += "<p><a href=\"/metrics\">/metrics</a> &middot; <a href=\"/api/v1/certificates\">"
       "/api/v1/certificates</a> &middot; <a href=\"/healthz\">/healthz</a></p>\n";

  h += "<h2>Expiry timeline</h2>\n";
  timeline_svg(h, rows, now);

  h += "<h2>Certificates (<span id=\"shown\">" + std::to_string(rows.size()) + "</span> of " +
       std::to_string(rows.size()) +
       ")</h2>\n"
       "<p><input id=\"filter\" type=\"search\" placeholder=\"filter: name, file, serial, "
       "severity, finding id\" "
       "aria-label=\"filter\"></p>\n"
       "<table id=\"certs\"><thead><tr><th data-key=\"severity\" data-type=\"num\">severity</th>"
       "<th data-key=\"expires\" data-type=\"num\" aria-sort=\"ascending\">expires</th>"
       "<th data-key=\"left\" data-type=\"num\">left</th><th data-key=\"subject\">subject CN</th>"
       "<th data-key=\"issuer\">issuer CN</th><th data-key=\"role\">role</th>"
       "<th data-key=\"places\" data-type=\"num\">places</th>"
       "<th data-key=\"findings\">findings</th><th "
       "data-key=\"serial\">serial</th></tr></thead><tbody>\n";
  for (const auto& r : rows) {
    const std::string sev = sev_name(r.severity);
    const int64_t left = r.cert->not_after - now;
    const Certificate& c = *r.certificate;
    h += "<tr class=\"" + sev + "\" data-sha256=\"" + html_escape(r.cert->sha256) +
         "\"><td data-v=\"" + std::to_string(r.severity) + "\">" + sev + "</td><td data-v=\"" +
         std::to_string(r.cert->not_after) + "\">" + certwatch::format_iso8601(r.cert->not_after) +
         "</td><td data-v=\"" + std::to_string(left) + "\">" + time_left(left) + "</td><td>" +
         html_escape(r.cert->subject_cn) + "</td><td>" + html_escape(r.cert->issuer_cn) +
         "</td><td>" + html_escape(to_string(c.first_place().record().role)) + "</td>";
    places_cell(h, c);
    h += "<td>";
    const std::vector<pki::Finding> own_findings = c.findings();
    if (own_findings.empty()) {
      h += "-";
    } else {
      std::vector<const pki::Finding*> own;
      for (const auto& f : own_findings) own.push_back(&f);
      findings_list(h, own, "cert-findings");
    }
    h += "</td><td>" + html_escape(r.cert->serial) + "</td></tr>\n";
  }
  h += "</tbody></table>\n";
  endpoints_table(h, inventory, now);
  renewals_table(h, renewals, now);
  h += "<h2>Findings about places (" + std::to_string(finding_count) + " on " +
       std::to_string(groups.size()) + " targets)</h2>\n";
  if (groups.empty()) h += "<p>None.</p>\n";
  for (const auto& g : groups) {
    const std::string worst = sev_name(g.worst);
    h += "<section class=\"group\" data-target=\"" + html_escape(*g.target) +
         "\"><h3><span class=\"badge " + worst + "\">" + worst + "</span> " +
         html_escape(*g.target) +
         "</h3>\n<table class=\"findings\"><thead><tr>"
         "<th>severity</th><th>id</th><th>certificate</th><th>message</th></tr></thead><tbody>\n";
    for (const auto* f : g.findings) {
      const std::string sev(pki::to_string(f->severity));
      const std::string index = std::string(split_finding_target(*g.target, f->target).second);
      h += "<tr class=\"" + sev + "\"><td>" + sev + "</td><td>" + html_escape(f->id) + "</td><td>" +
           (index.empty() ? std::string("whole file") : "#" + html_escape(index)) + "</td><td>" +
           html_escape(f->message) + "</td></tr>\n";
    }
    h += "</tbody></table></section>\n";
  }
  h += "<script>";
  h += kStatusScript;
  h += "</script>\n</body></html>\n";
  return h;
}

}  // namespace certwatch::agent
