#include "pki/sign/pkcs11_uri.h"

#include <catch2/catch.hpp>

using certwatch::pki::is_pkcs11_uri;
using certwatch::pki::parse_pkcs11_uri;

TEST_CASE("pkcs11 URI: the path and query attributes a CA key needs", "[pki][pkcs11]") {
  auto u = parse_pkcs11_uri(
      "pkcs11:token=My%20CA;object=server-ca;id=%01%ff;type=private"
      "?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin");
  REQUIRE(u.ok());
  CHECK(u->token == "My CA");
  CHECK(u->object == "server-ca");
  CHECK(u->id == std::string("\x01\xff", 2));
  CHECK(u->module_path == "/usr/lib/softhsm/libsofthsm2.so");
  CHECK(u->pin_source == "/run/pin");
  // The canonical text parses back to the same attributes.
  auto again = parse_pkcs11_uri(u->text());
  REQUIRE(again.ok());
  CHECK(again->token == u->token);
  CHECK(again->id == u->id);
  CHECK(again->pin_source == u->pin_source);
  CHECK(again->text() == u->text());
  CHECK(is_pkcs11_uri("PKCS11:token=a"));
  CHECK_FALSE(is_pkcs11_uri("/etc/ca.key.pem"));
}

TEST_CASE("pkcs11 URI: a PIN in the URI and unknown or broken attributes are refused",
          "[pki][pkcs11]") {
  const std::string m = "?module-path=/m.so";
  auto pin = parse_pkcs11_uri("pkcs11:token=a;object=k?module-path=/m.so&pin-value=1234");
  REQUIRE_FALSE(pin.ok());
  CHECK(pin.error().message.find("pin-value") != std::string::npos);
  CHECK(pin.error().message.find("1234") == std::string::npos);
  CHECK_FALSE(parse_pkcs11_uri("pkcs11:token=a;object=k").ok());  // no module
  CHECK_FALSE(parse_pkcs11_uri("pkcs11:token=a" + m).ok());       // no key named
  CHECK_FALSE(parse_pkcs11_uri("pkcs11:token=a;object=k;type=cert" + m).ok());
  CHECK_FALSE(parse_pkcs11_uri("pkcs11:token=a;object=k;slot=3" + m).ok());
  CHECK_FALSE(parse_pkcs11_uri("pkcs11:token=a;token=b;object=k" + m).ok());
  CHECK_FALSE(parse_pkcs11_uri("pkcs11:token=a%2;object=k" + m).ok());
  CHECK_FALSE(parse_pkcs11_uri("pkcs11:token=a;object=k?module-path=/m.so&pin-source=rel").ok());
  CHECK_FALSE(parse_pkcs11_uri("file:/x").ok());
}
