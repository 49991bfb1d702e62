// Internationalised host names in the config (issue #23): every host the config takes (watch
// host, endpoint target and sni, managed sans and verify_endpoint) is kept in A-labels, and a
// name that is not valid IDNA is a problem at its file:line:col.
#include <catch2/catch.hpp>
#include <sstream>

#include "config/address.h"
#include "config/loader.h"

namespace {

using certwatch::config::LoadOptions;

std::vector<std::string> idn_config_problems(const std::string& text) {
  auto r = certwatch::config::load_config_string(text, "c.yaml", "/base",
                                                 LoadOptions{.check_files = false});
  if (r) return {};
  std::vector<std::string> out;
  std::istringstream in(r.error().message);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

constexpr const char* kIdnConfig =
    "watch:\n"
    "  - {path: certs, host: Bücher.lab.test}\n"
    "endpoints:\n"
    "  - {target: 'bücher.lab.test:8883', sni: 'münchen.lab.test'}\n"
    "  - {target: '127.0.0.1:8884', sni: 'xn--bcher-kva.lab.test'}\n"
    "issuers: [{name: ca, pki_dir: /p}]\n"
    "managed:\n"
    "  - name: m\n"
    "    issuer: ca\n"
    "    subject: /CN=bücher.lab.test\n"
    "    sans: ['DNS:bücher.lab.test', 'DNS:*.Bücher.lab.test', 'DNS:mqtt.lab.test', "
    "IP:127.0.0.1]\n"
    "    cert: a\n"
    "    key: b\n"
    "    verify_endpoint: 'bücher.lab.test:8883'\n";

}  // namespace

TEST_CASE("config: Unicode host names load as A-labels", "[config][idna]") {
  auto r = certwatch::config::load_config_string(kIdnConfig, "c.yaml", "/base",
                                                 LoadOptions{.check_files = false});
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.ok());
  const auto& c = *r;
  REQUIRE(c.watch.size() == 1);
  CHECK(c.watch[0].host == "xn--bcher-kva.lab.test");
  REQUIRE(c.endpoints.size() == 2);
  CHECK(c.endpoints[0].target.host == "xn--bcher-kva.lab.test");
  CHECK(c.endpoints[0].target.to_string() == "xn--bcher-kva.lab.test:8883");
  CHECK(c.endpoints[0].sni == "xn--mnchen-3ya.lab.test");
  CHECK(c.endpoints[1].sni == "xn--bcher-kva.lab.test");
  REQUIRE(c.managed.size() == 1);
  const auto& sans = c.managed[0].sans;
  REQUIRE(sans.size() == 4);
  CHECK(sans[0].value == "xn--bcher-kva.lab.test");
  CHECK(sans[1].value == "*.xn--bcher-kva.lab.test");
  CHECK(sans[2].value == "mqtt.lab.test");
  CHECK(sans[3].value == "127.0.0.1");
  REQUIRE(c.managed[0].verify_endpoint.has_value());
  CHECK(c.managed[0].verify_endpoint->host == "xn--bcher-kva.lab.test");
}

TEST_CASE("config: a target without an sni sends its A-label", "[config][idna]") {
  auto r = certwatch::config::load_config_string("endpoints:\n  - target: 'bücher.lab.test:443'\n",
                                                 "c.yaml", "/base");
  REQUIRE(r.ok());
  CHECK(r->endpoints[0].sni == "xn--bcher-kva.lab.test");
}

TEST_CASE("config: a name that is not valid IDNA is a problem at its position", "[config][idna]") {
  const auto problems = idn_config_problems(
      "watch:\n"
      "  - {path: certs, host: '☃.lab.test'}\n"
      "endpoints:\n"
      "  - {target: 'i♥ny.lab.test:8883'}\n"
      "  - {target: '127.0.0.1:8884', sni: 'xn--53h.lab.test'}\n"
      "issuers: [{name: ca, pki_dir: /p}]\n"
      "managed:\n"
      "  - {name: m, issuer: ca, subject: /CN=m, cert: a, key: b,\n"
      "     sans: ['DNS:-bücher.lab.test', 'DNS:ok.lab.test']}\n");
  REQUIRE(problems.size() == 4);
  CHECK(problems[0] ==
        "c.yaml:2:25: watch[0].host: '☃.lab.test' is not a valid internationalised host name "
        "(IDNA 2008): string contains a disallowed character");
  CHECK(problems[1] ==
        "c.yaml:4:14: endpoints[0].target: bad address 'i♥ny.lab.test:8883': 'i♥ny.lab.test' is "
        "not a valid internationalised host name (IDNA 2008): string contains a disallowed "
        "character");
  CHECK(problems[2] ==
        "c.yaml:5:37: endpoints[1].sni: 'xn--53h.lab.test' is not a valid internationalised "
        "host name (IDNA 2008): string contains a disallowed character");
  CHECK(problems[3].rfind("c.yaml:9:13: managed[0].sans[0]: bad SAN 'DNS:-bücher.lab.test': ", 0) ==
        0);
}

TEST_CASE("parse_host_port converts a Unicode host and refuses an invalid one",
          "[config][address][idna]") {
  auto hp = certwatch::config::parse_host_port("Bücher.lab.test:8883");
  REQUIRE(hp.ok());
  CHECK(hp->host == "xn--bcher-kva.lab.test");
  CHECK(hp->port == 8883);
  auto bad = certwatch::config::parse_host_port("☃.lab.test:8883");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().kind == certwatch::ErrorKind::invalid_input);
}
