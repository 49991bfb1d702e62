#include <catch2/catch.hpp>

#include <ctime>

#include "pki/issue/issuer.h"
#include "support/fixtures.h"
#include "support/issuer_fixture.h"

using namespace certwatch;
using namespace certwatch::pki;
using testing::mode_of;
using testing::Pki;
namespace fs = std::filesystem;

TEST_CASE("import adopts an openssl CA and keeps it encrypted", "[pki][issuer]") {
  testing::TempDir tmp;
  const auto d = tmp.path().string();
  auto gen = testing::sh(
      "cd " + d +
      " && openssl genrsa -aes256 -passout pass:import-me -out ca.key 2048 2>/dev/null"
      " && openssl req -x509 -new -key ca.key -passin pass:import-me -sha256 -days 3650"
      "    -subj '/C=DE/O=Old/CN=Old Root' -out ca.crt 2>&1");
  REQUIRE(gen.exit_code == 0);
  testing::write_file(tmp / "pass", "import-me\n");
  Issuer issuer(tmp / "pki");
  ImportRequest rq;
  rq.cert_pem = testing::read_file(tmp / "ca.crt");
  rq.key_pem = testing::read_file(tmp / "ca.key");
  rq.passphrase = Passphrase("wrong");
  auto wrong = issuer.import_ca(rq);
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().message.find("wrong passphrase") != std::string::npos);
  CHECK_FALSE(fs::exists(tmp / "pki"));
  rq.passphrase = Passphrase("import-me");
  auto ok = issuer.import_ca(rq);
  REQUIRE(ok.ok());
  const auto key = testing::read_file(tmp / "pki" / "root-ca" / "private" / "root-ca.key.pem");
  CHECK(key.find("ENCRYPTED PRIVATE KEY") != std::string::npos);
  CHECK(mode_of(tmp / "pki" / "root-ca" / "private" / "root-ca.key.pem") == 0400);

  // A leaf certificate is not a CA.
  ImportRequest leaf = rq;
  leaf.name = "x-ca";
  auto gen2 = testing::sh("cd " + d +
                          " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
                          " -keyout leaf.key -subj /CN=leaf -addext basicConstraints=CA:FALSE -out leaf.crt 2>&1");
  REQUIRE(gen2.exit_code == 0);
  leaf.cert_pem = testing::read_file(tmp / "leaf.crt");
  leaf.key_pem = testing::read_file(tmp / "leaf.key");
  leaf.passphrase.reset();
  CHECK_FALSE(issuer.import_ca(leaf).ok());
}
