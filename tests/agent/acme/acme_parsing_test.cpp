// The ACME client's pure parts: URLs, problem documents, Retry-After and renewalInfo bodies.
#include <catch2/catch.hpp>

#include "agent/acme/acme_problem.h"
#include "agent/acme/https_exchange.h"
#include "agent/acme/renewal_info.h"

using namespace certwatch::agent::acme;

TEST_CASE("acme: https URLs are split into host, port and target", "[agent][acme]") {
  auto u = parse_https_url("https://acme.example.org/directory");
  REQUIRE(u.ok());
  CHECK(u->host == "acme.example.org");
  CHECK(u->port == 443);
  CHECK(u->target == "/directory");
  auto v6 = parse_https_url("https://[::1]:14000");
  REQUIRE(v6.ok());
  CHECK(v6->host == "::1");
  CHECK(v6->port == 14000);
  CHECK(v6->target == "/");
  CHECK(parse_https_url("https://127.0.0.1:8443/dir?x=1")->target == "/dir?x=1");
  for (const char* bad : {"http://a/dir", "https:///dir", "https://a:0/", "https://a:70000/",
                          "https://a:x/", "https://user@a/", "https://[::1/"})
    CHECK_FALSE(parse_https_url(bad).ok());
}

TEST_CASE("acme: problem documents become one line with type, step, detail and subproblems",
          "[agent][acme]") {
  HttpsResponse r;
  r.status = 400;
  r.headers = {{"content-type", "application/problem+json"}};
  r.body =
      R"({"type":"urn:ietf:params:acme:error:rejectedIdentifier","detail":"2 identifiers rejected",
    "subproblems":[{"type":"urn:ietf:params:acme:error:malformed","detail":"bad name",
                    "identifier":{"type":"dns","value":"a_b.example"}},
                   {"type":"urn:ietf:params:acme:error:rejectedIdentifier","detail":"policy forbids"}]})";
  CHECK(problem_type(r) == "rejectedIdentifier");
  CHECK(problem_message(r, "newOrder") ==
        "acme: rejectedIdentifier at newOrder: 2 identifiers rejected; malformed (a_b.example): "
        "bad name; "
        "rejectedIdentifier: policy forbids");
  // Not a problem document: the status and a bounded, single-line echo of the body.
  HttpsResponse plain;
  plain.status = 404;
  plain.headers = {{"content-type", "text/plain"}};
  plain.body = "404 page not found\n";
  CHECK(problem_type(plain).empty());
  CHECK(problem_message(plain, "directory") == "acme: HTTP 404 at directory: 404 page not found");
  plain.body = std::string(5000, 'x');
  CHECK(problem_message(plain, "directory").size() < 300);
  // A type outside the ACME namespace is kept whole.
  r.body = R"({"type":"about:blank","detail":"teapot"})";
  CHECK(problem_message(r, "finalize") == "acme: about:blank at finalize: teapot");
}

TEST_CASE("acme: Retry-After in seconds or as an HTTP-date", "[agent][acme]") {
  CHECK(parse_retry_after("", 0) == std::nullopt);
  CHECK(parse_retry_after("120", 0) == 120);
  CHECK(parse_retry_after("Sat, 28 Nov 2026 08:10:00 GMT", 1795853400 - 90) == 90);
  CHECK(parse_retry_after("Sat, 28 Nov 2026 08:10:00 GMT", 1795853400 + 90) == 0);  // in the past
  CHECK(parse_retry_after("soon", 0) == std::nullopt);
  CHECK(parse_retry_after("-5", 0) == std::nullopt);
}

TEST_CASE("acme: renewalInfo answers become the suggested window", "[agent][acme]") {
  auto r = parse_renewal_info(
      R"({"suggestedWindow":{"start":"2026-11-28T08:10:00Z","end":"2026-11-29T08:10:00Z"},
                                  "explanationURL":"https://ca.example/why"})",
      "21600", 0);
  REQUIRE(r.ok());
  CHECK(r->window_start == 1795853400);
  CHECK(r->window_end == 1795853400 + 86400);
  CHECK(r->explanation_url == "https://ca.example/why");
  CHECK(r->retry_after == 21600);
  auto no_expl = parse_renewal_info(
      R"({"suggestedWindow":{"start":"2026-11-28T08:10:00Z","end":"2026-11-28T08:10:00Z"}})", "",
      0);
  REQUIRE(no_expl.ok());
  CHECK_FALSE(no_expl->explanation_url.has_value());
  CHECK(no_expl->retry_after == 0);
  CHECK_FALSE(parse_renewal_info("{}", "", 0).ok());
  CHECK_FALSE(parse_renewal_info("not json", "", 0).ok());
  CHECK_FALSE(
      parse_renewal_info(
          R"({"suggestedWindow":{"start":"2026-11-29T08:10:00Z","end":"2026-11-28T08:10:00Z"}})",
          "", 0)
          .ok());  // ends before it starts
  CHECK_FALSE(parse_renewal_info(
                  R"({"suggestedWindow":{"start":"tomorrow","end":"2026-11-28T08:10:00Z"}})", "", 0)
                  .ok());
}
