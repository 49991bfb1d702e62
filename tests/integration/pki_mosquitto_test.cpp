// Acceptance for the issuer against a real TLS stack (issue #3, point 2): Mosquitto on
// 127.0.0.1 with a server certificate, key and chain issued by `certwatch pki`, client
// certificates required; an issued client publishes, a client of an unrelated CA is refused,
// and after `pki revoke` + `pki crl` the restarted broker (crlfile) refuses the revoked client.
#include <catch2/catch.hpp>

#include <pwd.h>
#include <unistd.h>

#include <memory>

#include "integration/mosquitto_broker.h"
#include "integration/pki_cli.h"
#include "support/fixtures.h"

using pki_cli::ok;
namespace fs = std::filesystem;

namespace {

using mosquitto_test::Broker;

testing::RunResult publish(int port, const std::string& ca, const std::string& cert, const std::string& key,
                           const std::string& message) {
  return testing::run({"mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(port), "--cafile", ca, "--cert",
                       cert, "--key", key, "-t", "certwatch/test", "-m", message, "-q", "1", "-i",
                       "pub-" + message},
                      std::chrono::seconds(15));
}

}  // namespace

TEST_CASE("mosquitto accepts issued clients, refuses strangers and revoked ones", "[integration][pki][mosquitto]") {
  if (!testing::have_program("mosquitto") || !testing::have_program("mosquitto_pub")) FAIL("mosquitto is not installed");
  testing::TempDir tmp;
  const std::string d = (tmp / "pki").string(), out = (tmp / "out").string();
  ok({"pki", "init", "--dir", d, "--subject", "/C=DE/O=Lab/CN=Lab Root CA"});
  ok({"pki", "ca", "--dir", d, "--name", "server-ca", "--subject", "/C=DE/O=Lab/CN=Lab Server CA"});
  ok({"pki", "issue", "--dir", d, "--ca", "server-ca", "--profile", "server", "--name", "broker", "--subject",
      "/CN=mqtt.lab.local", "--san", "DNS:mqtt.lab.local", "--san", "IP:127.0.0.1", "--out", out});
  for (const auto* dev : {"dev-1", "dev-2"})
    ok({"pki", "issue", "--dir", d, "--ca", "root-ca", "--profile", "client", "--name", dev, "--subject",
        std::string("/CN=") + dev, "--out", out});
  // A client of an unrelated CA, with the same subject as an accepted one.
  const std::string other = (tmp / "other").string();
  ok({"pki", "init", "--dir", other, "--subject", "/C=DE/O=Lab/CN=Lab Root CA"});
  ok({"pki", "issue", "--dir", other, "--ca", "root-ca", "--profile", "client", "--name", "dev-1", "--subject",
      "/CN=dev-1", "--out", other + "/out"});

  const std::string bundle = d + "/ca-bundle.pem";
  const std::string tls = "cafile " + bundle + "\ncertfile " + out + "/broker.chain.pem\nkeyfile " + out +
                          "/broker.key.pem\n";
  {
    Broker broker(tmp.path(), tls, "plain");
    // A subscriber with another issued client sees the message: the publish went through.
    const auto sub_log = tmp / "sub.log";
    testing::Process sub({"mosquitto_sub", "-h", "127.0.0.1", "-p", std::to_string(broker.port), "--cafile", bundle,
                          "--cert", out + "/dev-2.cert.pem", "--key", out + "/dev-2.key.pem", "-t", "certwatch/test",
                          "-C", "1", "-W", "15", "-i", "sub-dev-2"},
                         sub_log);
    REQUIRE(testing::eventually(
        [&] { return testing::read_file(broker.log).find("Sending SUBACK to sub-dev-2") != std::string::npos; },
        std::chrono::seconds(10)));
    auto pub = publish(broker.port, bundle, out + "/dev-1.cert.pem", out + "/dev-1.key.pem", "hello");
    INFO(pub.out << pub.err << testing::read_file(broker.log));
    CHECK(pub.exit_code == 0);
    CHECK(sub.wait(std::chrono::seconds(10)) == 0);
    CHECK(testing::read_file(sub_log).find("hello") != std::string::npos);

    auto stranger = publish(broker.port, bundle, other + "/out/dev-1.cert.pem", other + "/out/dev-1.key.pem", "intruder");
    INFO(stranger.out << stranger.err);
    CHECK(stranger.exit_code != 0);
  }

  auto revoked = ok({"pki", "revoke", "--dir", d, "--name", "dev-1", "--reason", "keyCompromise"});
  CHECK(revoked.out.find("revoked") != std::string::npos);
  auto crl = ok({"pki", "crl", "--dir", d, "--ca", "root-ca"});
  CHECK(crl.out.find("1 revoked") != std::string::npos);
  // The broker does not log why; openssl names it: the CRL is what refuses dev-1.
  const std::string crl_file = d + "/root-ca/crl/root-ca.crl.pem";
  auto why = testing::run({"openssl", "verify", "-crl_check", "-CAfile", bundle, "-CRLfile", crl_file,
                           out + "/dev-1.cert.pem"});
  CHECK((why.out + why.err).find("certificate revoked") != std::string::npos);
  auto list = ok({"pki", "list", "--dir", d, "--json"});
  CHECK(list.out.find("\"revocation_reason\":\"keyCompromise\"") != std::string::npos);
  {
    Broker broker(tmp.path(), tls + "crlfile " + crl_file + "\n", "crl");
    auto refused = publish(broker.port, bundle, out + "/dev-1.cert.pem", out + "/dev-1.key.pem", "after-revoke");
    INFO(refused.out << refused.err << testing::read_file(broker.log));
    CHECK(refused.exit_code != 0);
    auto still = publish(broker.port, bundle, out + "/dev-2.cert.pem", out + "/dev-2.key.pem", "still-ok");
    INFO(still.out << still.err << testing::read_file(broker.log));
    CHECK(still.exit_code == 0);
  }
}
