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

TEST_CASE("a CSR gives its key and validated SANs, nothing else", "[pki][issuer]") {
  Pki pki;
  const auto dir = pki.tmp.path();
  auto gen = testing::sh("cd " + dir.string() +
                         " && openssl ecparam -name prime256v1 -genkey -noout -out csr.key 2>&1"
                         " && openssl req -new -key csr.key -subj /CN=from-csr -out ok.csr"
                         "    -addext subjectAltName=DNS:csr.lab.local,IP:10.0.0.7"
                         "    -addext basicConstraints=critical,CA:TRUE"
                         " && openssl req -new -key csr.key -subj /CN=bad -out bad.csr"
                         "    -addext subjectAltName=DNS:bad_name!.lab 2>&1");
  REQUIRE(gen.exit_code == 0);
  auto rq = pki.server("csr-leaf");
  rq.subject.clear();
  rq.sans = {"DNS:csr.lab.local"};  // duplicate of the CSR's: written once
  rq.csr = testing::read_file(dir / "ok.csr");
  auto r = pki.issuer.issue(rq);
  REQUIRE(r.ok());
  CHECK(r->cert.subject_cn() == "from-csr");
  CHECK(r->cert.sans() == std::vector<SubjectAltName>{{SubjectAltName::Type::dns, "csr.lab.local"},
                                                      {SubjectAltName::Type::ip, "10.0.0.7"}});
  CHECK_FALSE(r->cert.is_ca());  // the CSR's CA:TRUE is not copied
  CHECK(r->written.size() == 2);  // no key file: the requester holds the key
  CHECK_FALSE(fs::exists(pki.tmp / "out" / "csr-leaf.key.pem"));
  bool warned_ext = false, warned_dup = false;
  for (const auto& w : r->warnings) {
    warned_ext |= w.find("basicConstraints ignored") != std::string::npos;
    warned_dup |= w.find("duplicate SAN") != std::string::npos;
  }
  CHECK(warned_ext);
  CHECK(warned_dup);

  auto bad = pki.server("csr-bad");
  bad.csr = testing::read_file(dir / "bad.csr");
  auto b = pki.issuer.issue(bad);
  REQUIRE_FALSE(b.ok());
  CHECK(b.error().message.find("CSR SAN") != std::string::npos);
  bad.csr = std::string("garbage");
  CHECK_FALSE(pki.issuer.issue(bad).ok());
}
