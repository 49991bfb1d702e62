// The pieces of the broker diagnosis that need no broker: host and port from a broker URL,
// and the client certificate's own validity against the agent's clock.
#include "agent/alerts/broker_diagnosis.h"

#include <catch2/catch.hpp>

#include "support/fixtures.h"
#include "support/pki_fixture.h"

using certwatch::agent::broker_address;
using certwatch::agent::client_cert_problem;

TEST_CASE("broker address from the URL, with the scheme's default port", "[agent][alerts]") {
  auto a = broker_address("mqtts://mqtt.lab.local:8884/x");
  REQUIRE(a);
  CHECK(a->host == "mqtt.lab.local");
  CHECK(a->port == 8884);
  CHECK(broker_address("mqtts://h")->port == 8883);
  CHECK(broker_address("ssl://h")->port == 8883);
  CHECK(broker_address("mqtt://h")->port == 1883);
  CHECK(broker_address("tcp://h")->port == 1883);
  CHECK(broker_address("wss://h/mqtt")->port == 443);
  CHECK(broker_address("ws://h")->port == 80);
  auto v6 = broker_address("mqtts://[::1]:9883");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(v6->port == 9883);
  CHECK_FALSE(broker_address("[::1]:9883"));  // no scheme: nothing to tell
  CHECK_FALSE(broker_address("mqtts://h:99999"));  // one HOST:PORT rule: a port is 1..65535
  CHECK_FALSE(broker_address("mqtts://:8883"));
}

TEST_CASE("client certificate validity against the agent's clock", "[agent][alerts]") {
  testing::TempDir dir;
  testing::PkiFixture pki(dir / "pki");
  auto root = pki.root("root", testing::CertOptions::of("Root"));
  auto client = pki.client("client", root, testing::CertOptions::of("agent").with_days(10));
  const auto certs = testing::load_certs(client.cert);
  REQUIRE(certs.size() == 1);
  const auto v = certs[0].validity();
  CHECK_FALSE(client_cert_problem(client.cert, v.not_before + 10));
  const auto expired = client_cert_problem(client.cert, v.not_after + 1);
  REQUIRE(expired);
  CHECK(expired->starts_with("client certificate " + client.cert.string() + " expired on "));
  const auto early = client_cert_problem(client.cert, v.not_before - 1);
  REQUIRE(early);
  CHECK(early->find("is not valid before") != std::string::npos);
  CHECK_FALSE(client_cert_problem(dir / "missing.pem", v.not_before + 10));  // TLS reports it
}
