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

TEST_CASE("revoke and CRL - openssl sees the revocation", "[pki][issuer]") {
  Pki pki;
  auto a = pki.issuer.issue(pki.server("keep"));
  auto b = pki.issuer.issue(pki.server("gone"));
  REQUIRE((a.ok() && b.ok()));
  auto rev = pki.issuer.revoke(std::nullopt, std::nullopt, std::string("gone"), "keyCompromise", pki.now);
  REQUIRE(rev.ok());
  CHECK(rev->serial == b->cert.serial_hex());
  CHECK_FALSE(pki.issuer.revoke(std::nullopt, b->cert.serial_hex(), std::nullopt, "keyCompromise", pki.now).ok());
  CHECK_FALSE(pki.issuer.revoke(std::nullopt, std::nullopt, std::string("keep"), "bogus", pki.now).ok());
  auto crl = pki.issuer.write_crl("root-ca", std::nullopt, 7 * 86400, pki.now, std::nullopt);
  REQUIRE(crl.ok());
  CHECK(crl->revoked == 1);
  CHECK(crl->number == 1);
  const auto d = pki.tmp / "pki";
  const auto out = pki.tmp / "out";
  auto verify = [&](const std::string& name) {
    return testing::run({"openssl", "verify", "-crl_check", "-CAfile", (d / "ca-bundle.pem").string(), "-CRLfile",
                         crl->path.string(), (out / (name + ".cert.pem")).string()});
  };
  CHECK(verify("keep").exit_code == 0);
  auto gone = verify("gone");
  CHECK(gone.exit_code != 0);
  CHECK((gone.out + gone.err).find("revoked") != std::string::npos);
  auto text = testing::run({"openssl", "crl", "-in", crl->path.string(), "-noout", "-text"});
  CHECK(text.out.find("Key Compromise") != std::string::npos);
  CHECK(text.out.find("X509v3 CRL Number") != std::string::npos);
}
