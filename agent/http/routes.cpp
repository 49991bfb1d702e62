#include "agent/http/routes.h"

#include "agent/renew/renew_json.h"
#include "exporters/prometheus/metrics.h"

namespace certwatch::agent {
namespace {

// Every answer of the agent is live state: nothing may be cached by a proxy or browser.
HttpResponse no_store(HttpResponse r) {
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

HttpResponse metrics_route(AgentMetrics& metrics, const HttpRequest& req) {
  HttpResponse r;
  r.content_type = std::string(exporters::kPrometheusContentType);
  // Compressed once per change by AgentMetrics, not by the server on every scrape; a
  // Content-Encoding set here tells the server not to compress again.
  const auto accept = req.headers[boost::beast::http::field::accept_encoding];
  if (accepts_gzip({accept.data(), accept.size()}) && !metrics.gzipped().empty()) {
    r.body = metrics.gzipped();
    r.headers.emplace_back("Content-Encoding", "gzip");
    r.headers.emplace_back("Vary", "Accept-Encoding");
  } else {
    r.body = metrics.render();
  }
  return no_store(std::move(r));
}

}  // namespace

RouteTable agent_routes(AgentView v) {
  RouteTable routes;
  routes.emplace_back("/metrics",
                      [v](const HttpRequest& req) { return metrics_route(v.metrics, req); });
  routes.emplace_back("/healthz", [v](const HttpRequest&) {
    HttpResponse r;
    r.status = v.status.ready ? 200 : 503;
    r.body = render_health(v.status);
    return no_store(std::move(r));
  });
  routes.emplace_back("/api/v1/certificates", [v](const HttpRequest&) {
    HttpResponse r;
    r.content_type = "application/json";
    r.body = render_certificates_json(v.inventory, v.clock.now());
    return no_store(std::move(r));
  });
  routes.emplace_back("/api/v1/renewals", [v](const HttpRequest&) {
    HttpResponse r;
    r.content_type = "application/json";
    r.body = render_renewals_json(v.renewals, v.clock.now());
    return no_store(std::move(r));
  });
  routes.emplace_back("/", [v](const HttpRequest&) {
    HttpResponse r;
    r.content_type = "text/html; charset=utf-8";
    r.body = render_status_html(v.inventory, v.status, v.clock.now(), v.renewals.status());
    return no_store(std::move(r));
  });
  return routes;
}

std::string route_list(const RouteTable& routes) {
  std::string out;
  for (std::size_t i = 0; i < routes.size(); ++i) {
    if (i != 0) out += i + 1 == routes.size() ? " and " : ", ";
    out += routes[i].first;
  }
  return out;
}

}  // namespace certwatch::agent
