#include "pki/x509/rfc2253.h"

#include <catch2/catch.hpp>

#include "support/issuer_fixture.h"

namespace {

using certwatch::pki::DnEntry;

}  // namespace

TEST_CASE("an RFC 2253 name reads back in its printed order, escapes undone", "[pki][rfc2253]") {
  auto plain = certwatch::pki::parse_rfc2253("CN=dev-1,OU=Meters+L=Berlin,O=Lab");
  REQUIRE(plain.ok());
  CHECK(*plain ==
        std::vector<DnEntry>{{"CN", "dev-1"}, {"OU", "Meters"}, {"L", "Berlin"}, {"O", "Lab"}});
  auto escaped = certwatch::pki::parse_rfc2253(R"(CN=a\,b\+c\\d\"e\<f\>g\;h\=i,O=\#x\ )");
  REQUIRE(escaped.ok());
  CHECK((*escaped)[0].value == R"(a,b+c\d"e<f>g;h=i)");
  CHECK((*escaped)[1].value == "#x ");
  auto hex = certwatch::pki::parse_rfc2253(R"(CN=tab\09here)");
  REQUIRE(hex.ok());
  CHECK((*hex)[0].value == "tab\there");

  CHECK_FALSE(certwatch::pki::parse_rfc2253("CN=a,").ok());
  CHECK_FALSE(certwatch::pki::parse_rfc2253("=a").ok());
  CHECK_FALSE(certwatch::pki::parse_rfc2253("CN=a\\").ok());
  CHECK_FALSE(certwatch::pki::parse_rfc2253("justtext").ok());
  CHECK(certwatch::pki::rfc2253_cn("justtext").empty());
  CHECK(certwatch::pki::rfc2253_cn("O=Lab").empty());
}

// The oracle is Certificate::subject_cn() of the certificate whose subject() printed the text.
TEST_CASE("rfc2253_cn of a certificate's subject is its subject_cn", "[pki][rfc2253]") {
  testing::Pki pki;
  const std::vector<std::string> subjects = {
      "/CN=meter-1",
      "/C=DE/O=Lab, Inc./CN=Smith\\, John + Co",
      "/O=Lab/CN=first/OU=x/CN=last",
      "/CN=#hash=eq;semi<lt>gt\"quote\\\\back",
      "/CN= leading and trailing /O=Lab",
      "/CN=Gerät München",
      "/O=only an organisation",
  };
  int n = 0;
  for (const auto& subject : subjects) {
    auto rq = pki.server("s" + std::to_string(n++));
    rq.subject = subject;
    auto issued = pki.issuer.issue(rq);
    REQUIRE(issued.ok());
    const auto& cert = issued->cert;
    INFO(subject << " printed as " << cert.subject());
    CHECK(certwatch::pki::rfc2253_cn(cert.subject()) == cert.subject_cn());
    CHECK(certwatch::pki::rfc2253_cn(cert.issuer()) == cert.issuer_cn());
  }
}
