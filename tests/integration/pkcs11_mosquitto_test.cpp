// Acceptance for CA keys in a PKCS#11 token against a real TLS stack (issue 26, point 1): a
// Mosquitto with client certificates required serves a certificate signed by a CA whose key is
// in SoftHSM2, and an mTLS client with a certificate from the same token CA subscribes and
// receives what another publishes. The broker trusts the root only: the clients send their
// chain files, as the server does. A client of a file-key CA with the same names is refused.
#include <catch2/catch.hpp>

#include "integration/mosquitto_broker.h"
#include "integration/pki_cli.h"
#include "support/fixtures.h"
#include "support/softhsm.h"

using pki_cli::ok;
namespace fs = std::filesystem;

namespace {

testing::RunResult token_publish(int port, const std::string& ca, const std::string& dir,
                                 const std::string& client, const std::string& message) {
  return testing::run(
      {"mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(port), "--cafile", ca, "--cert",
       dir + "/" + client + ".chain.pem", "--key", dir + "/" + client + ".key.pem", "-t",
       "certwatch/pkcs11", "-m", message, "-q", "1", "-i", "pub-" + message},
      std::chrono::seconds(15));
}

}  // namespace

TEST_CASE(
    "pkcs11: mosquitto serves a certificate of the token CA and an mTLS client of it passes a "
    "message",
    "[integration][pki][pkcs11][mosquitto]") {
  if (!testing::have_program("mosquitto") || !testing::have_program("mosquitto_pub"))
    FAIL("mosquitto is not installed");
  testing::TempDir tmp;
  testing::SoftHsm hsm(tmp.path());
  const std::string d = (tmp / "pki").string(), out = (tmp / "out").string(),
                    pin = hsm.pin_file().string();
  // Both CA keys in the token: the root generated there (RSA), the server CA adopted (EC).
  ok({"pki", "init", "--dir", d, "--subject", "/O=Lab/CN=Token Lab Root", "--key-uri",
      hsm.uri("root"), "--key-type", "rsa-2048", "--pin-file", pin},
     hsm.env());
  hsm.make_ec_key("server-ca", "01");
  ok({"pki", "ca", "--dir", d, "--name", "server-ca", "--subject", "/O=Lab/CN=Token Lab Server CA",
      "--key-uri", hsm.uri("server-ca"), "--pin-file", pin, "--parent-pin-file", pin},
     hsm.env());
  ok({"pki",        "issue",
      "--dir",      d,
      "--ca",       "server-ca",
      "--profile",  "server",
      "--name",     "broker",
      "--subject",  "/CN=mqtt.lab.local",
      "--san",      "DNS:mqtt.lab.local",
      "--san",      "IP:127.0.0.1",
      "--out",      out,
      "--pin-file", pin},
     hsm.env());
  for (const auto* dev : {"dev-1", "dev-2"})
    ok({"pki", "issue", "--dir", d, "--ca", "server-ca", "--profile", "client", "--name", dev,
        "--subject", std::string("/CN=") + dev, "--out", out, "--pin-file", pin},
       hsm.env());
  // A stranger: the same subjects from a CA whose key is a file.
  const std::string other = (tmp / "other").string();
  ok({"pki", "init", "--dir", other, "--subject", "/O=Lab/CN=Token Lab Root"});
  ok({"pki", "issue", "--dir", other, "--ca", "root-ca", "--profile", "client", "--name", "dev-1",
      "--subject", "/CN=dev-1", "--out", other + "/out"});

  const std::string bundle = d + "/ca-bundle.pem";
  mosquitto_test::Broker broker(tmp.path(),
                                "cafile " + bundle + "\ncertfile " + out +
                                    "/broker.chain.pem\nkeyfile " + out + "/broker.key.pem\n",
                                "pkcs11");
  // The server certificate the broker serves is the token CA's (openssl s_client as the oracle).
  {
    auto served = testing::sh("openssl s_client -connect 127.0.0.1:" + std::to_string(broker.port) +
                                  " -CAfile " + bundle + " -verify_return_error -cert " + out +
                                  "/dev-2.cert.pem -cert_chain " + out + "/dev-2.chain.pem -key " +
                                  out + "/dev-2.key.pem </dev/null 2>&1",
                              std::chrono::seconds(15));
    INFO(served.out);
    CHECK(served.out.find("Verify return code: 0 (ok)") != std::string::npos);
    CHECK(served.out.find("CN = Token Lab Server CA") != std::string::npos);
    CHECK(served.out.find("SSL alert number") == std::string::npos);  // the broker took dev-2
  }

  const auto sub_log = tmp / "sub.log";
  testing::Process sub(
      {"mosquitto_sub", "-h", "127.0.0.1", "-p", std::to_string(broker.port), "--cafile", bundle,
       "--cert", out + "/dev-2.chain.pem", "--key", out + "/dev-2.key.pem", "-t",
       "certwatch/pkcs11", "-C", "1", "-W", "15", "-i", "sub-dev-2"},
      sub_log);
  REQUIRE(testing::eventually(
      [&] {
        return testing::read_file(broker.log).find("Sending SUBACK to sub-dev-2") !=
               std::string::npos;
      },
      std::chrono::seconds(10)));
  auto pub = token_publish(broker.port, bundle, out, "dev-1", "signed-in-a-token");
  INFO(pub.out << pub.err << testing::read_file(broker.log));
  CHECK(pub.exit_code == 0);
  CHECK(sub.wait(std::chrono::seconds(10)) == 0);
  CHECK(testing::read_file(sub_log).find("signed-in-a-token") != std::string::npos);

  auto stranger = token_publish(broker.port, bundle, other + "/out", "dev-1", "intruder");
  INFO(stranger.out << stranger.err);
  CHECK(stranger.exit_code != 0);
  CHECK(testing::read_file(broker.log).find("pub-intruder") == std::string::npos);
}
