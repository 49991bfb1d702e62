#include "base/idna.h"

#include <catch2/catch.hpp>
#include <string>

namespace {

using Catch::Matchers::Contains;

std::string idna_ok(const std::string& name) {
  auto r = certwatch::host_to_ascii(name);
  INFO(name << ": " << (r ? std::string() : r.error().message));
  REQUIRE(r.ok());
  return *r;
}

std::string idna_refusal(const std::string& name) {
  auto r = certwatch::host_to_ascii(name);
  INFO(name);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == certwatch::ErrorKind::invalid_input);
  return r.error().message;
}

}  // namespace

TEST_CASE("host_to_ascii turns U-labels into A-labels", "[idna]") {
  CHECK(idna_ok("bücher.example") == "xn--bcher-kva.example");
  CHECK(idna_ok("bücher.lab.test") == "xn--bcher-kva.lab.test");
  CHECK(idna_ok("münchen.bücher.example") == "xn--mnchen-3ya.xn--bcher-kva.example");
  CHECK(idna_ok("例え.テスト") == "xn--r8jz45g.xn--zckzah");
  // Non-transitional (IDNA 2008, as browsers and curl): ß is a letter of its own.
  CHECK(idna_ok("faß.de") == "xn--fa-hia.de");
  // A wildcard first label stays, for SANs.
  CHECK(idna_ok("*.bücher.example") == "*.xn--bcher-kva.example");
}

TEST_CASE("host_to_ascii folds mixed case to lower case", "[idna]") {
  CHECK(idna_ok("Bücher.Example") == "xn--bcher-kva.example");
  CHECK(idna_ok("BÜCHER.EXAMPLE") == "xn--bcher-kva.example");
  CHECK(idna_ok("XN--BCHER-KVA.Example") == "xn--bcher-kva.example");
}

TEST_CASE("host_to_ascii keeps ASCII names and checks A-labels", "[idna]") {
  // Plain ASCII names are the caller's to judge: returned exactly as given.
  CHECK(idna_ok("mqtt.lab.local") == "mqtt.lab.local");
  CHECK(idna_ok("MQTT.Lab.Local") == "MQTT.Lab.Local");
  CHECK(idna_ok("_acme-challenge.example") == "_acme-challenge.example");
  CHECK(idna_ok("127.0.0.1") == "127.0.0.1");
  CHECK(idna_ok("") == "");
  // An A-label already: kept when it decodes to a valid U-label.
  CHECK(idna_ok("xn--bcher-kva.example") == "xn--bcher-kva.example");
  CHECK(idna_ok("mqtt.xn--bcher-kva.example") == "mqtt.xn--bcher-kva.example");
  // A forged or broken A-label is refused: "xn--53h" is U+2603 SNOWMAN, disallowed by IDNA 2008
  // (IDNA 2003 allowed it); "xn--abc" does not decode to a valid label.
  CHECK_THAT(idna_refusal("xn--53h.example"), Contains("disallowed"));
  CHECK_THAT(idna_refusal("xn--abc.example"), Contains("'xn--abc.example'"));
}

TEST_CASE("host_to_ascii keeps a trailing dot", "[idna]") {
  CHECK(idna_ok("bücher.example.") == "xn--bcher-kva.example.");
  CHECK(idna_ok("mqtt.lab.local.") == "mqtt.lab.local.");
}

TEST_CASE("host_to_ascii refuses what IDNA 2008 refuses, saying why", "[idna]") {
  // Symbols are not letters: U+2603 SNOWMAN, U+2665 BLACK HEART SUIT.
  CHECK_THAT(idna_refusal("☃.example"), Contains("disallowed"));
  CHECK_THAT(idna_refusal("i♥ny.example"), Contains("disallowed"));
  // A zero-width joiner is allowed only after a virama (CONTEXTJ).
  CHECK_THAT(idna_refusal("a\u200db.example"), Contains("context"));
  // A U-label whose A-label is longer than 63 octets (56 'a' and 'ü': 64 with "xn--").
  const std::string long_label = std::string(56, 'a') + "ü.example";
  CHECK_THAT(idna_refusal(long_label), Contains("longer than 63 octets"));
  CHECK(idna_ok(std::string(55, 'a') + "ü.example").size() == 63 + 8);
  // Over 253 octets once converted.
  std::string long_name;
  for (int i = 0; i < 30; ++i) long_name += "übungen.";
  long_name += "example";
  CHECK_THAT(idna_refusal(long_name), Contains("longer than 253"));
  // A hyphen at a label's edge, and bytes that are not UTF-8.
  CHECK_THAT(idna_refusal("-bücher.example"), Contains("hyphen"));
  CHECK_THAT(idna_refusal("b\xfc"
                          "cher.example"),
             Contains("not UTF-8"));
  // The message quotes the input.
  CHECK_THAT(idna_refusal("☃.example"), Contains("'☃.example' is not a valid internationalised"));
}

TEST_CASE("host_for_display shows both forms of an IDN", "[idna]") {
  CHECK(certwatch::host_for_display("xn--bcher-kva.example") ==
        "bücher.example (xn--bcher-kva.example)");
  CHECK(certwatch::host_for_display("*.xn--bcher-kva.example") ==
        "*.bücher.example (*.xn--bcher-kva.example)");
  CHECK(certwatch::host_for_display("mqtt.lab.local") == "mqtt.lab.local");
  // An A-label that does not convert back to itself is shown as it is, never decoded.
  CHECK(certwatch::host_for_display("xn--bcher-xxx.example") == "xn--bcher-xxx.example");
  CHECK(certwatch::host_for_display("xn--53h.example") == "xn--53h.example");
}
