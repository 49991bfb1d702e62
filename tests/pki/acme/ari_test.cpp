#include "pki/acme/ari.h"

#include <catch2/catch.hpp>

#include "support/fixtures.h"

using namespace certwatch;
using namespace certwatch::pki;

namespace {

// A self-signed certificate with the given serial and an AKI keyIdentifier written as raw DER.
std::string cert_der(const testing::TempDir& tmp, const std::string& serial,
                     const std::string& keyid_colons, const std::string& keyid_len_hex) {
  auto r = testing::sh(
      "cd " + tmp.path().string() +
      " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k.pem"
      " -subj /CN=ari -set_serial " +
      serial + " -addext authorityKeyIdentifier=DER:30:" + keyid_len_hex + ":80:" + keyid_colons +
      " -outform DER -out c.der 2>&1");
  INFO(r.out);
  REQUIRE(r.exit_code == 0);
  return testing::read_file(tmp / "c.der");
}

}  // namespace

TEST_CASE("the ARI certificate id of the draft's example", "[pki][ari]") {
  // draft-ietf-acme-ari section 4.1: keyIdentifier 69:88:5B:...:D4 and serial 0x87654321, whose
  // DER content octets carry a leading zero (the high bit is set).
  testing::TempDir tmp;
  const std::string der = cert_der(
      tmp, "0x87654321", "14:69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4", "16");
  auto id = ari_cert_id(der);
  REQUIRE(id.ok());
  CHECK(*id == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
}

TEST_CASE("the ARI certificate id follows openssl's view of AKI and serial", "[pki][ari]") {
  testing::TempDir tmp;
  const std::string der = cert_der(tmp, "0x1234", "04:01:02:03:04", "06");
  auto id = ari_cert_id(der);
  REQUIRE(id.ok());
  CHECK(*id == "AQIDBA.EjQ");  // base64url(01020304) "." base64url(1234)
  // No AKI: an error naming it.
  auto r = testing::sh(
      "cd " + tmp.path().string() +
      " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k2.pem"
      " -subj /CN=x -addext authorityKeyIdentifier=none -addext subjectKeyIdentifier=none"
      " -outform DER -out none.der 2>&1");
  REQUIRE(r.exit_code == 0);
  auto none = ari_cert_id(testing::read_file(tmp / "none.der"));
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().message.find("authority key identifier") != std::string::npos);
  CHECK_FALSE(ari_cert_id("not a certificate").ok());
}

TEST_CASE("RFC 3339 timestamps of the suggested window", "[pki][ari]") {
  CHECK(*parse_rfc3339("1970-01-01T00:00:00Z") == 0);
  CHECK(*parse_rfc3339("2026-11-28T08:10:00Z") == 1795853400);
  CHECK(*parse_rfc3339("2026-11-28T08:10:00.123456Z") == 1795853400);
  CHECK(*parse_rfc3339("2026-11-28T09:10:00+01:00") == 1795853400);
  CHECK(*parse_rfc3339("2026-11-28T07:40:00-00:30") == 1795853400);
  for (const char* bad :
       {"", "2026-11-28", "2026-11-28T08:10:00", "2026-13-28T08:10:00Z", "2026-11-28T08:10:00+0100",
        "2026-11-28 08:10:00Z", "x026-11-28T08:10:00Z"})
    CHECK_FALSE(parse_rfc3339(bad).ok());
}
