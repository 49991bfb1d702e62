#include "pki/x509/dn.h"

#include <catch2/catch.hpp>

using namespace certwatch;
using namespace certwatch::pki;

TEST_CASE("seed subjects parse in order", "[pki][dn]") {
  auto dn = parse_dn("/C=DE/O=My IoT Cloud/OU=PKI/CN=My IoT Cloud Root CA");
  REQUIRE(dn.ok());
  REQUIRE(dn->size() == 4);
  CHECK((*dn)[0] == DnEntry{"C", "DE"});
  CHECK((*dn)[1] == DnEntry{"O", "My IoT Cloud"});
  CHECK((*dn)[3] == DnEntry{"CN", "My IoT Cloud Root CA"});
  CHECK(format_dn(*dn) == "/C=DE/O=My IoT Cloud/OU=PKI/CN=My IoT Cloud Root CA");

  auto name = to_x509_name(*dn);
  REQUIRE(name.ok());
  CHECK(X509_NAME_entry_count(name->get()) == 4);
}

TEST_CASE("long attribute names are canonicalised and escapes work", "[pki][dn]") {
  auto dn = parse_dn("/commonName=a\\/b\\\\c/organizationName=x/");
  REQUIRE(dn.ok());
  REQUIRE(dn->size() == 2);
  CHECK((*dn)[0] == DnEntry{"CN", "a/b\\c"});
  CHECK((*dn)[1] == DnEntry{"O", "x"});
  CHECK(format_dn(*dn) == "/CN=a\\/b\\\\c/O=x");
}

TEST_CASE("malformed subjects are refused with a reason", "[pki][dn]") {
  struct Case {
    const char* text;
    const char* says;
  };
  for (auto c : {Case{"", "empty"}, Case{"CN=x", "start with '/'"}, Case{"/CN", "no '='"},
                 Case{"/=x", "no type"}, Case{"/XX=1", "unknown attribute"},
                 Case{"/CN=", "empty value"}, Case{"/C=DEU/CN=x", "two-letter"},
                 Case{"/C=D1/CN=x", "two-letter"}, Case{"//CN=x", "empty component"},
                 Case{"/CN=x\\", "backslash"}, Case{"/", "no attributes"}}) {
    auto r = parse_dn(c.text);
    INFO(c.text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find(c.says) != std::string::npos);
  }
  CHECK_FALSE(parse_dn("/CN=" + std::string(65, 'a')).ok());
}

TEST_CASE("SANs are typed and validated", "[pki][dn]") {
  auto d = parse_san("DNS:MQTT.Lab.Local");
  REQUIRE(d.ok());
  CHECK(d->type == SubjectAltName::Type::dns);
  CHECK(d->value == "mqtt.lab.local");
  auto w = parse_san("dns:*.lab.local");
  REQUIRE(w.ok());
  auto ip = parse_san("IP:127.0.0.1");
  REQUIRE(ip.ok());
  CHECK(ip->type == SubjectAltName::Type::ip);
  auto ip6 = parse_san("IP:0:0::0001");
  REQUIRE(ip6.ok());
  CHECK(ip6->value == "::1");
  CHECK(parse_san("email:ops@lab.local").ok());
  CHECK(parse_san("URI:spiffe://lab/mqtt").ok());

  for (auto bad :
       {"mqtt.lab.local", "DNS:", "DNS:bad_host!", "DNS:a..b", "DNS:-a.b", "DNS:a.*.b", "DNS:*",
        "DNS:10.0.0.1", "IP:300.1.1.1", "IP:host", "FOO:x", "email:nope", "URI:nocolon"}) {
    INFO(bad);
    CHECK_FALSE(parse_san(bad).ok());
  }
  auto ipdns = parse_san("DNS:10.0.0.1");
  REQUIRE_FALSE(ipdns.ok());
  CHECK(ipdns.error().message.find("IP:10.0.0.1") != std::string::npos);
}

TEST_CASE("a DNS SAN typed in U-labels is issued in A-labels", "[pki][dn][idna]") {
  auto u = parse_san("DNS:Bücher.lab.test");
  REQUIRE(u.ok());
  CHECK(u->value == "xn--bcher-kva.lab.test");
  auto w = parse_san("DNS:*.bücher.lab.test");
  REQUIRE(w.ok());
  CHECK(w->value == "*.xn--bcher-kva.lab.test");
  auto a = parse_san("DNS:XN--BCHER-KVA.lab.test");
  REQUIRE(a.ok());
  CHECK(a->value == "xn--bcher-kva.lab.test");
  for (auto bad :
       {"DNS:☃.lab.test", "DNS:xn--53h.lab.test", "DNS:bücher..lab.test", "DNS:bücher.lab.test."}) {
    INFO(bad);
    auto r = parse_san(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.rfind("SAN '" + std::string(bad) + "': ", 0) == 0);
  }
}
