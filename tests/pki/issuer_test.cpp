#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <ctime>
#include <functional>
#include <map>
#include <set>

#include "pki/issuer.h"
#include "support/fixtures.h"

using namespace pki;
using testing::mode_of;
namespace fs = std::filesystem;

namespace {


// Every file under `dir` (except SQLite's own files) with its content.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const auto name = e.path().filename().string();
    if (name.rfind("ledger.sqlite", 0) == 0) continue;
    out[e.path().string()] = e.is_regular_file() ? testing::read_file(e.path()) : "<dir>";
  }
  return out;
}

struct Pki {
  testing::TempDir tmp;
  Issuer issuer{tmp / "pki"};
  int64_t now = std::time(nullptr);

  Pki(std::optional<Passphrase> root_pass = std::nullopt) {
    InitRequest init;
    init.subject = "/C=DE/O=Lab/CN=Lab Root CA";
    init.passphrase = std::move(root_pass);
    init.now = now;
    REQUIRE(issuer.init(init).ok());
  }
  IssueRequest server(const std::string& name) const {
    IssueRequest rq;
    rq.ca = "root-ca";
    rq.name = name;
    rq.subject = "/CN=" + name + ".lab.local";
    rq.sans = {"DNS:" + name + ".lab.local"};
    rq.out_dir = tmp / "out";
    rq.now = now;
    return rq;
  }
  size_t ledger_rows() { return (*issuer.ledger())->list()->size(); }
};

}  // namespace

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
  auto again = pki.issuer.init(InitRequest{"/CN=x", KeyType::ec_p256, 86400, std::nullopt, false, pki.now});
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().message.find("--force") != std::string::npos);
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
      {"bad DN", [](IssueRequest& r) { r.subject = "CN=missing-slash"; }, "--subject"},
      {"bad SAN", [](IssueRequest& r) { r.sans = {"DNS:bad host"}; }, "invalid character"},
      {"SAN typed wrong", [](IssueRequest& r) { r.sans = {"DNS:10.1.1.1"}; }, "IP:10.1.1.1"},
      {"server without SAN", [](IssueRequest& r) { r.sans.clear(); }, "needs at least one SAN"},
      {"validity beyond issuer", [](IssueRequest& r) { r.validity_seconds = 365 * 86400; }, "beyond the issuer"},
      {"wrong passphrase", [](IssueRequest& r) { r.ca = "root-ca"; r.ca_passphrase = Passphrase("guess"); }, "wrong passphrase"},
      {"no passphrase", [](IssueRequest& r) { r.ca = "root-ca"; }, "encrypted"},
      {"existing output", [](IssueRequest& r) { r.name = "taken"; }, "exists"},
      {"bad name", [](IssueRequest& r) { r.name = "../escape"; }, "--name"},
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
