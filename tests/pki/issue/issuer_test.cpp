#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <ctime>
#include <functional>
#include <map>
#include <set>

#include "pki/issue/issuer.h"
#include "support/fixtures.h"
#include "support/issuer_fixture.h"

using namespace certwatch;
using namespace certwatch::pki;
using testing::mode_of;
using testing::Pki;
using testing::snapshot;
namespace fs = std::filesystem;

TEST_CASE("init lays out the root CA like seed 001", "[pki][issuer]") {
  Pki pki;
  const auto d = pki.tmp / "pki";
  CHECK(mode_of(d) == 0700);
  CHECK(mode_of(d / "root-ca") == 0700);
  CHECK(mode_of(d / "root-ca" / "private") == 0700);
  CHECK(mode_of(d / "root-ca" / "private" / "root-ca.key.pem") == 0400);
  CHECK(mode_of(d / "root-ca" / "certs" / "root-ca.cert.pem") == 0644);
  CHECK(testing::read_file(d / "ca-bundle.pem") == testing::read_file(d / "root-ca" / "certs" / "root-ca.cert.pem"));
  CHECK(pki.issuer.ca_names() == std::vector<std::string>{"root-ca"});
  CHECK(pki.ledger_rows() == 1);
  auto again = pki.issuer.init(InitRequest{"/CN=x", KeyType::ec_p256, 86400, std::nullopt, false, pki.now, {}});
  REQUIRE_FALSE(again.ok());
  // An existing root is an ErrorKind the CLI turns into its --force hint (pki names no flags).
  CHECK(again.error().kind == ErrorKind::exists);
  CHECK(again.error().message.find("--") == std::string::npos);
}

TEST_CASE("serials are random, positive and at least 128 bits, notBefore is backdated", "[pki][issuer]") {
  Pki pki;
  std::set<std::string> serials;
  for (int i = 0; i < 5; ++i) {
    auto r = pki.issuer.issue(pki.server("s" + std::to_string(i)));
    REQUIRE(r.ok());
    const auto serial = r->cert.serial_hex();
    CHECK(serial.size() == 40);  // 20 octets, first in 0x40..0x7f: positive, 158 random bits
    CHECK((serial[0] >= '4' && serial[0] <= '7'));
    serials.insert(serial);
    CHECK(r->cert.validity().not_before == pki.now - 60);
    CHECK(r->cert.validity().not_after == pki.now + 365 * 86400);
  }
  CHECK(serials.size() == 5);
  auto entries = (*pki.issuer.ledger())->list(std::string("root-ca"));
  REQUIRE(entries.ok());
  CHECK(entries->size() == 6);  // the root and five leaves
  const auto& e = entries->front();
  CHECK(e.profile == "server");
  CHECK(e.key_type == "ec-p256");
  CHECK(e.status == "valid");
  CHECK(e.sha256.size() == 64);
  CHECK(e.sans == std::vector<std::string>{"DNS:s4.lab.local"});
}

TEST_CASE("issue writes key 0600, cert and chain leaf first", "[pki][issuer]") {
  Pki pki;
  CaRequest ca;
  ca.name = "server-ca";
  ca.subject = "/CN=Server CA";
  ca.now = pki.now;
  auto inter = pki.issuer.create_ca(ca);
  REQUIRE(inter.ok());
  auto rq = pki.server("mqtt");
  rq.ca = "server-ca";
  auto r = pki.issuer.issue(rq);
  REQUIRE(r.ok());
  const auto out = pki.tmp / "out";
  CHECK(mode_of(out / "mqtt.key.pem") == 0600);
  const auto chain = testing::read_file(out / "mqtt.chain.pem");
  CHECK(chain == r->cert.pem() + inter->cert.pem());  // leaf, intermediate, no root
  CHECK(r->written.size() == 3);
}

TEST_CASE("every refusal writes nothing", "[pki][issuer]") {
  Pki pki(Passphrase("root secret"));
  CaRequest ca;
  ca.name = "short-ca";
  ca.subject = "/CN=Short CA";
  ca.validity_seconds = 30 * 86400;
  ca.parent_passphrase = Passphrase("root secret");
  ca.now = pki.now;
  REQUIRE(pki.issuer.create_ca(ca).ok());
  auto existing = pki.server("taken");
  existing.ca = "short-ca";
  existing.validity_seconds = 86400;
  REQUIRE(pki.issuer.issue(existing).ok());
  const auto before = snapshot(pki.tmp.path());
  const auto rows = pki.ledger_rows();

  struct Case {
    const char* what;
    std::function<void(IssueRequest&)> change;
    const char* says;
  };
  std::vector<Case> cases = {
      {"unknown CA", [](IssueRequest& r) { r.ca = "nope-ca"; }, "unknown CA 'nope-ca'"},
      {"bad DN", [](IssueRequest& r) { r.subject = "CN=missing-slash"; }, "subject: "},
      {"bad SAN", [](IssueRequest& r) { r.sans = {"DNS:bad host"}; }, "invalid character"},
      {"SAN typed wrong", [](IssueRequest& r) { r.sans = {"DNS:10.1.1.1"}; }, "IP:10.1.1.1"},
      {"server without SAN", [](IssueRequest& r) { r.sans.clear(); }, "needs at least one SAN"},
      {"validity beyond issuer", [](IssueRequest& r) { r.validity_seconds = 365 * 86400; }, "beyond the issuer"},
      {"wrong passphrase", [](IssueRequest& r) { r.ca = "root-ca"; r.ca_passphrase = Passphrase("guess"); }, "wrong passphrase"},
      {"no passphrase", [](IssueRequest& r) { r.ca = "root-ca"; }, "encrypted"},
      {"existing output", [](IssueRequest& r) { r.name = "taken"; }, "exists"},
      {"bad name", [](IssueRequest& r) { r.name = "../escape"; }, "name '../escape'"},
  };
  for (auto& c : cases) {
    INFO(c.what);
    auto rq = pki.server("fresh");
    rq.ca = "short-ca";
    rq.validity_seconds = 86400;
    c.change(rq);
    auto r = pki.issuer.issue(rq);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find(c.says) != std::string::npos);
    CHECK(snapshot(pki.tmp.path()) == before);
    CHECK(pki.ledger_rows() == rows);
  }

  // pki names the request field, not a CLI flag; the CLI puts its flag in its place.
  for (const auto& [change, input] : std::vector<std::pair<std::function<void(IssueRequest&)>, std::string>>{
           {[](IssueRequest& r) { r.subject = "CN=missing-slash"; }, "subject"},
           {[](IssueRequest& r) { r.name = "../escape"; }, "name"}}) {
    auto rq = pki.server("fresh");
    rq.ca = "short-ca";
    rq.validity_seconds = 86400;
    change(rq);
    auto r = pki.issuer.issue(rq);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::invalid_input);
    CHECK(r.error().input == input);
    CHECK(r.error().message.rfind(input, 0) == 0);
    CHECK(r.error().message.find("--") == std::string::npos);
  }
  {
    auto rq = pki.server("taken");
    rq.ca = "short-ca";
    rq.validity_seconds = 86400;
    auto r = pki.issuer.issue(rq);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::exists);
  }

  // CA creation refusals, too.
  CaRequest bad = ca;
  bad.name = "other-ca";
  bad.parent_passphrase = Passphrase("wrong");
  CHECK_FALSE(pki.issuer.create_ca(bad).ok());
  bad.parent_passphrase = Passphrase("root secret");
  bad.parent = "missing-ca";
  CHECK_FALSE(pki.issuer.create_ca(bad).ok());
  bad.parent = "short-ca";  // pathlen 0: signs leaves only
  auto pl = pki.issuer.create_ca(bad);
  REQUIRE_FALSE(pl.ok());
  CHECK(pl.error().message.find("pathlen 0") != std::string::npos);
  bad.parent = "root-ca";
  bad.validity_seconds = 20 * 365 * 86400;  // beyond the 10-year root
  CHECK_FALSE(pki.issuer.create_ca(bad).ok());
  CHECK(snapshot(pki.tmp.path()) == before);
  CHECK(pki.ledger_rows() == rows);

  // --force replaces an existing output.
  auto forced = pki.server("taken");
  forced.ca = "short-ca";
  forced.validity_seconds = 86400;
  forced.force = true;
  REQUIRE(pki.issuer.issue(forced).ok());
}

TEST_CASE("a leaf never outlives its issuer, clamped with a warning when asked", "[pki][issuer]") {
  Pki pki;
  CaRequest ca;
  ca.name = "short-ca";
  ca.subject = "/CN=Short CA";
  ca.validity_seconds = 10 * 86400;
  ca.now = pki.now;
  auto inter = pki.issuer.create_ca(ca);
  REQUIRE(inter.ok());
  auto rq = pki.server("clamped");
  rq.ca = "short-ca";
  rq.beyond_issuer = BeyondIssuer::clamp;
  auto r = pki.issuer.issue(rq);
  REQUIRE(r.ok());
  CHECK(r->cert.validity().not_after == inter->cert.validity().not_after);
  REQUIRE(r->warnings.size() == 1);
  CHECK(r->warnings[0].find("clamped") != std::string::npos);
}

TEST_CASE("a forced re-issue supersedes the name's earlier certificate in the ledger", "[pki][issuer]") {
  Pki pki;
  auto first = pki.issuer.issue(pki.server("mqtt"));
  REQUIRE(first.ok());
  auto again = pki.server("mqtt");
  CHECK_FALSE(pki.issuer.issue(again).ok());  // exists: refused without --force
  again.force = true;
  auto second = pki.issuer.issue(again);
  REQUIRE(second.ok());
  REQUIRE(second->warnings.size() == 1);
  CHECK(second->warnings[0].find("superseded") != std::string::npos);
  auto ledger = pki.issuer.ledger();
  REQUIRE(ledger.ok());
  auto old = (*ledger)->find_serial(first->cert.serial_hex());
  REQUIRE(old->size() == 1);
  CHECK(old->front().status == "superseded");
  CHECK(old->front().superseded_by == second->cert.serial_hex());
  // Revoking by name now means the current certificate, without --serial.
  auto rev = pki.issuer.revoke(std::nullopt, std::nullopt, std::string("mqtt"), "keyCompromise", pki.now);
  REQUIRE(rev.ok());
  CHECK(rev->serial == second->cert.serial_hex());
  // The superseded one is still revocable by serial.
  auto rev_old = pki.issuer.revoke(std::nullopt, first->cert.serial_hex(), std::nullopt, "superseded", pki.now);
  REQUIRE(rev_old.ok());
  auto crl = pki.issuer.write_crl("root-ca", std::nullopt, 7 * 86400, pki.now, std::nullopt);
  REQUIRE(crl.ok());
  CHECK(crl->revoked == 2);
}
