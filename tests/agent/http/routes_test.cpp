// The route table is the one list of what the agent serves: every path, the renewal schedule
// included, is in it, and the start-up log names them from it.
#include "agent/http/routes.h"

#include <catch2/catch.hpp>
#include <string>

#include "agent/renew/scheduler.h"

using namespace certwatch::agent;

namespace {

struct RouteRig {
  boost::asio::io_context io;
  ManualClock clock{io, 1'800'000'000};
  Inventory inventory;
  AgentMetrics metrics;
  AgentStatus status;
  SourceSink sink;
  RenewScheduler renewals{io, clock, inventory, sink};
  RouteTable routes = agent_routes(AgentView{inventory, metrics, status, clock, renewals});

  const HttpHandler* find(const std::string& path) const {
    for (const auto& [p, h] : routes)
      if (p == path) return &h;
    return nullptr;
  }
};

}  // namespace

TEST_CASE("route table: every path once, the renewal schedule among them", "[agent][routes]") {
  RouteRig rig;
  CHECK(route_list(rig.routes) ==
        "/metrics, /healthz, /api/v1/certificates, /api/v1/renewals and /");
  const HttpHandler* renewals = rig.find("/api/v1/renewals");
  REQUIRE(renewals != nullptr);
  const boost::beast::http::fields headers;
  const HttpResponse r =
      (*renewals)(HttpRequest{"GET", "/api/v1/renewals", "/api/v1/renewals", "", headers});
  CHECK(r.status == 200);
  CHECK(r.content_type == "application/json");
  CHECK(r.body.find("\"now\":1800000000") != std::string::npos);
  CHECK(r.body.find("\"renewals\":[]") != std::string::npos);
  REQUIRE(r.headers.size() == 1);
  CHECK(r.headers[0] == std::pair<std::string, std::string>{"Cache-Control", "no-store"});
}

TEST_CASE("route list reads as a sentence for one, two and more paths", "[agent][routes]") {
  const HttpHandler none = [](const HttpRequest&) { return HttpResponse{}; };
  CHECK(route_list({}).empty());
  CHECK(route_list({{"/a", none}}) == "/a");
  CHECK(route_list({{"/a", none}, {"/b", none}}) == "/a and /b");
  CHECK(route_list({{"/a", none}, {"/b", none}, {"/c", none}}) == "/a, /b and /c");
}
