// The pieces of the broker diagnosis that need no broker: host and port from a broker URL,
// and the client certificate's own validity against the agent's clock.
#include "agent/alerts/broker_diagnosis.h"

#include <boost/asio/ip/tcp.hpp>
#include <catch2/catch.hpp>
#include <optional>

#include "support/fixtures.h"
#include "support/pki_fixture.h"

using certwatch::agent::broker_address;
using certwatch::agent::BrokerDiagnosis;
using certwatch::agent::client_cert_problem;
using certwatch::agent::diagnose_broker;

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
  CHECK_FALSE(broker_address("[::1]:9883"));       // no scheme: nothing to tell
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

TEST_CASE("the diagnosis tells a sound transport from a failed one by type", "[agent][alerts]") {
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ip::tcp::acceptor listener(io, {asio::ip::make_address("127.0.0.1"), 0});
  const std::string where = "127.0.0.1:" + std::to_string(listener.local_endpoint().port());
  // A plain listener that closes at once, as a broker does that ends the CONNECT.
  listener.async_accept([](const boost::system::error_code&, asio::ip::tcp::socket) {});
  std::optional<BrokerDiagnosis> open;
  diagnose_broker(io, "mqtt://" + where, {}, std::chrono::milliseconds(3000), 0, std::nullopt,
                  [&](BrokerDiagnosis d) { open = std::move(d); });
  io.run();
  REQUIRE(open);
  CHECK(open->transport_ok);
  CHECK(open->words ==
        "the broker at " + where + " accepts TCP but ended the MQTT CONNECT (see its log)");

  listener.close();
  io.restart();
  std::optional<BrokerDiagnosis> closed;
  diagnose_broker(io, "mqtt://" + where, {}, std::chrono::milliseconds(3000), 0, std::nullopt,
                  [&](BrokerDiagnosis d) { closed = std::move(d); });
  io.run();
  REQUIRE(closed);
  CHECK_FALSE(closed->transport_ok);
  CHECK(closed->words.starts_with("cannot connect to " + where + ": "));
}

TEST_CASE("the diagnosis of an unanswered CONNECT says no CONNACK came, not that it ended",
          "[agent][alerts]") {
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ip::tcp::acceptor listener(io, {asio::ip::make_address("127.0.0.1"), 0});
  const std::string where = "127.0.0.1:" + std::to_string(listener.local_endpoint().port());
  std::optional<BrokerDiagnosis> silent;
  diagnose_broker(io, "mqtt://" + where, {}, std::chrono::milliseconds(3000), 0,
                  std::chrono::seconds(10), [&](BrokerDiagnosis d) { silent = std::move(d); });
  io.run();
  REQUIRE(silent);
  CHECK(silent->transport_ok);
  CHECK(silent->words == "the broker at " + where +
                             " accepts TCP but sent no CONNACK within 10 s (it accepts connections "
                             "and never answers: see its log and load)");
}
