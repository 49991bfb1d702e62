#include <catch2/catch.hpp>

#include "pki/verify/verify_cache.h"
#include "support/fixtures.h"
#include "support/pki_fixture.h"

using namespace testing;

TEST_CASE("the VerifyCache verifies a shared intermediate once", "[judge]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  auto root = f.root("r", CertOptions::of("R").with_days(3650));
  auto ca = f.ca("i", root, CertOptions::of("I").with_days(1000), 0);
  auto a = f.server("a", ca, CertOptions::of("a.test"));
  const auto ca_cert = load_certs(ca.cert)[0], root_cert = load_certs(root.cert)[0];
  const auto a_cert = load_certs(a.cert)[0];
  certwatch::pki::VerifyCache cache;
  CHECK(cache.signed_by(ca_cert, root_cert));
  CHECK(cache.signed_by(a_cert, ca_cert));
  CHECK_FALSE(cache.signed_by(a_cert, root_cert));  // wrong name: never verified
  CHECK_FALSE(cache.signed_by(ca_cert, ca_cert));
  CHECK(cache.verifications() == 2);  // the name mismatches were not verified
  // The cached answer is reused: the same pair gives the same answer without a new verify.
  for (int i = 0; i < 100; ++i) CHECK(cache.signed_by(ca_cert, root_cert));
  CHECK(cache.verifications() == 2);
  // signature_verifies does not compare names: the root's key did not sign the leaf.
  CHECK_FALSE(cache.signature_verifies(a_cert, root_cert));
  CHECK(cache.signature_verifies(a_cert, ca_cert));
  CHECK(cache.verifications() == 3);
}
