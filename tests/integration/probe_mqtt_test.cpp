// `certwatch probe --protocol mqtt` against a real Mosquitto with a TLS listener and
// `require_certificate true` (issue #9, point 2): with the right client certificate the
// CONNECT gets CONNACK 0 (exit 0); without one the TLS alert is endpoint.handshake_failed; a
// broker that refuses the client (CONNACK 5) is endpoint.protocol_failed.
#include <catch2/catch.hpp>

#include "integration/mosquitto_broker.h"
#include "support/fixtures.h"
#include "support/pki_fixture.h"

using namespace testing;

namespace {

using mosquitto_test::Broker;

bool has_id(const RunResult& r, const std::string& id) {
  return r.out.find("\"id\":\"" + id + "\"") != std::string::npos;
}

}  // namespace

TEST_CASE("probe --protocol mqtt gets a CONNACK from a real mosquitto", "[integration][probe][mosquitto]") {
  if (!have_program("mosquitto")) FAIL("mosquitto is not installed");
  TempDir tmp;
  PkiFixture f(tmp / "pki");
  const DeepChain d = make_deep_chain(f);
  const CertFiles client = f.client("client", d.root, CertOptions::of("probe-client"));
  const std::string tls = "cafile " + d.root.cert.string() + "\ncertfile " +
                          f.cat("served.pem", {d.leaf.cert, d.int2.cert, d.int1.cert}).string() +
                          "\nkeyfile " + d.leaf.key.string() + "\n";
  const auto probe = [&](int port, bool with_cert) {
    std::vector<std::string> argv{certwatch_bin().string(), "probe", "127.0.0.1:" + std::to_string(port),
                                  "--protocol", "mqtt", "--ca-bundle", d.bundle.string(), "--sni",
                                  "mqtt.lab.local", "--timeout", "5s", "--json"};
    if (with_cert) argv.insert(argv.end(), {"--cert", client.cert.string(), "--key", client.key.string()});
    return run(argv, std::chrono::seconds(60));
  };

  SECTION("an accepting broker") {
    Broker broker(tmp.path(), tls, "open");
    const RunResult ok = probe(broker.port, true);
    INFO(ok.out << ok.err);
    CHECK(ok.exit_code == 0);
    CHECK(ok.out.find("\"trusted\":true") != std::string::npos);
    CHECK_FALSE(has_id(ok, "endpoint.protocol_failed"));
    const RunResult without = probe(broker.port, false);
    INFO(without.out << without.err);
    CHECK(has_id(without, "endpoint.handshake_failed"));
    CHECK(without.exit_code == 2);
  }
  SECTION("a broker that refuses the client: CONNACK 5") {
    Broker broker(tmp.path(), tls, "closed", false);
    const RunResult refused = probe(broker.port, true);
    INFO(refused.out << refused.err);
    CHECK(has_id(refused, "endpoint.protocol_failed"));
    CHECK(refused.out.find("CONNACK return code 5") != std::string::npos);
    CHECK(refused.exit_code == 2);
    CHECK(refused.out.find("\"subject_cn\":\"mqtt.lab.local\"") != std::string::npos);  // still judged
  }
  SECTION("a plain TLS server is no broker") {
    const int port = free_port();
    Process server({"openssl", "s_server", "-accept", "127.0.0.1:" + std::to_string(port), "-cert",
                    d.leaf.cert.string(), "-key", d.leaf.key.string(), "-quiet"},
                   tmp / "s_server.log");
    REQUIRE(wait_for_port(port, std::chrono::seconds(10)));
    const RunResult r = probe(port, false);
    INFO(r.out << r.err);
    CHECK(has_id(r, "endpoint.protocol_failed"));
  }
}
