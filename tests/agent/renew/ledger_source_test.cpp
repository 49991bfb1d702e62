#include "agent/renew/ledger_source.h"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <sstream>

#include "support/issuer_fixture.h"
#include "support/pki_fixture.h"

namespace {

certwatch::pki::LedgerEntry ledger_row(int64_t not_before, int64_t not_after) {
  certwatch::pki::LedgerEntry row;
  row.serial = "0A1B";
  row.ca = "device-ca";
  row.name = "meter-1";
  row.subject = "CN=meter-1,O=Lab";
  row.sans = {"DNS:meter-1.lab"};
  row.not_before = not_before;
  row.not_after = not_after;
  row.sha256 = "ab";
  row.key_type = "ec-p256";
  row.profile = "client";
  return row;
}

}  // namespace

TEST_CASE("a ledger row is an entry judged for expiry only, by pki's rule", "[agent][ledger]") {
  using certwatch::pki::Severity;
  constexpr int64_t day = 86400;
  certwatch::config::Config cfg;
  const auto row = ledger_row(1000 * day, 1090 * day);  // 90 days: warning 30d, critical 7d
  const std::string id = "lab/meter-1/0A1B";

  const certwatch::agent::CaFacts ca{"CN=Lab Device CA,O=Lab", "Lab Device CA",
                                     "ecdsa-with-SHA256"};

  const auto fresh = certwatch::agent::ledger_entry(id, row, ca, cfg, 1010 * day);
  REQUIRE(fresh.report.certs.size() == 1);
  CHECK(fresh.report.certs[0].subject_cn == "meter-1");
  CHECK(fresh.report.certs[0].issuer_cn == "Lab Device CA");
  CHECK(fresh.report.certs[0].issuer == "CN=Lab Device CA,O=Lab");
  CHECK(fresh.report.certs[0].signature_algorithm == "ecdsa-with-SHA256");
  CHECK(fresh.report.certs[0].key_type == "EC P-256");
  CHECK(fresh.report.certs[0].role == certwatch::pki::CertRole::leaf);
  CHECK(fresh.report.certs[0].index == 0);
  CHECK(fresh.report.trusted);
  CHECK(fresh.report.findings.empty());

  const auto soon = certwatch::agent::ledger_entry(id, row, ca, cfg, 1070 * day);
  REQUIRE(soon.report.findings.size() == 1);
  CHECK(soon.report.findings[0].id == "cert.expires_soon");
  CHECK(soon.report.findings[0].severity == Severity::warning);
  CHECK(soon.report.findings[0].target == id + "#0");
  CHECK(soon.report.findings[0].message == "expires in 20d (notAfter 1972-12-26T00:00:00Z)");

  const auto critical = certwatch::agent::ledger_entry(id, row, ca, cfg, 1085 * day);
  REQUIRE(critical.report.findings.size() == 1);
  CHECK(critical.report.findings[0].severity == Severity::critical);

  const auto expired = certwatch::agent::ledger_entry(id, row, ca, cfg, 1092 * day);
  REQUIRE(expired.report.findings.size() == 1);
  CHECK(expired.report.findings[0].id == "cert.expired");
  CHECK(expired.report.findings[0].message == "expired 2d ago");

  // The config's thresholds and severities apply, as to every other target.
  cfg.agent.thresholds = {10 * day, 2 * day};
  CHECK(certwatch::agent::ledger_entry(id, row, ca, cfg, 1070 * day).report.findings.empty());
  cfg.severities["cert.expired"] = Severity::warning;
  CHECK(certwatch::agent::ledger_entry(id, row, ca, cfg, 1092 * day).report.findings[0].severity ==
        Severity::warning);
}

namespace {

using certwatch::agent::SourceKind;
namespace fs = std::filesystem;

// A PKI directory with a device CA under the root, a client leaf of each and a server leaf of
// the root, read by a LedgerSource through two `issuers:` entries on the one directory.
struct LedgerRig {
  testing::Pki pki;
  boost::asio::io_context io;
  certwatch::agent::ManualClock clock{io, pki.now};
  certwatch::agent::Inventory inventory;
  certwatch::agent::LedgerSource source{clock, inventory};
  certwatch::config::Config cfg;
  certwatch::pki::Certificate device_ca_cert, meter, gateway;

  static certwatch::pki::Certificate issued(certwatch::Result<certwatch::pki::Issued> r) {
    REQUIRE(r.ok());
    return r->cert;
  }

  LedgerRig()
      : device_ca_cert(make_device_ca(pki)),
        meter(issued(pki.issuer.issue(meter_request(pki)))),
        gateway(issued(pki.issuer.issue(pki.server("gateway")))) {
    certwatch::config::IssuerEntry server_ca;
    server_ca.name = "server-ca";
    server_ca.pki_dir = pki.tmp / "pki";
    server_ca.ca = "root-ca";
    auto devices = server_ca;
    devices.name = "devices";
    devices.ca = "device-ca";
    cfg.issuers = {server_ca, devices};
  }

  static certwatch::pki::Certificate make_device_ca(testing::Pki& p) {
    certwatch::pki::CaRequest rq;
    rq.name = "device-ca";
    rq.subject = "/O=Lab/CN=Lab Device CA";
    rq.key_type = certwatch::pki::KeyType::ec_p384;
    rq.now = p.now;
    return issued(p.issuer.create_ca(rq));
  }
  static certwatch::pki::IssueRequest meter_request(const testing::Pki& p) {
    auto rq = p.server("meter-1");
    rq.ca = "device-ca";
    rq.profile = certwatch::pki::Profile::client;
    rq.subject = "/O=Lab, Inc./CN=Meter\\, One";
    rq.key_type = certwatch::pki::KeyType::rsa_2048;
    return rq;
  }
  static std::string target(const std::string& ca, const std::string& name,
                            const certwatch::pki::Certificate& c) {
    return ca + "/" + name + "/" + c.serial_hex();
  }
  const certwatch::pki::CertRecord* record(const std::string& id) const {
    const auto* e = inventory.find({SourceKind::ledger, id});
    return e != nullptr && e->certs.size() == 1 ? e->certs[0].get() : nullptr;
  }
};

// Copies the default logger's output into `out` while in scope.
class LogCapture {
 public:
  explicit LogCapture(std::ostringstream& out)
      : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(out)) {
    spdlog::default_logger()->sinks().push_back(sink_);
  }
  ~LogCapture() {
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

 private:
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

int occurrences(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t p = 0; (p = text.find(what, p)) != std::string::npos; p += what.size()) ++n;
  return n;
}

// The oracle is the certificate itself, as the issuer returned it.
void check_record(const certwatch::pki::CertRecord& r, const certwatch::pki::Certificate& c) {
  CHECK(r.subject == c.subject());
  CHECK(r.subject_cn == c.subject_cn());
  CHECK(r.issuer == c.issuer());
  CHECK(r.issuer_cn == c.issuer_cn());
  CHECK(r.serial == c.serial_hex());
  CHECK(r.sha256 == c.sha256_hex());
  CHECK(r.not_before == c.validity().not_before);
  CHECK(r.not_after == c.validity().not_after);
  CHECK(r.key_type == c.key_description());
  CHECK(r.signature_algorithm == c.signature_algorithm());
  CHECK(r.role == certwatch::pki::CertRole::leaf);
  CHECK(r.index == 0);
}

}  // namespace

TEST_CASE(
    "a ledger target is named after the CA that signed it, and says what the certificate "
    "says",
    "[agent][ledger]") {
  LedgerRig rig;
  rig.source.apply(rig.cfg);
  // Two entries on one directory: still one target per row, each under its own CA.
  CHECK(rig.inventory.size(SourceKind::ledger) == 2);
  CHECK(rig.source.target_count() == 2);
  const auto* meter = rig.record(LedgerRig::target("device-ca", "meter-1", rig.meter));
  REQUIRE(meter != nullptr);
  CHECK(meter->subject_cn == "Meter, One");
  CHECK(meter->issuer_cn == "Lab Device CA");
  check_record(*meter, rig.meter);
  const auto* gateway = rig.record(LedgerRig::target("root-ca", "gateway", rig.gateway));
  REQUIRE(gateway != nullptr);
  check_record(*gateway, rig.gateway);
  rig.source.stop();
}

TEST_CASE("a CA certificate that cannot be read leaves its rows without an issuer",
          "[agent][ledger]") {
  LedgerRig rig;
  auto second = LedgerRig::meter_request(rig.pki);
  second.name = "meter-2";
  const auto meter2 = LedgerRig::issued(rig.pki.issuer.issue(second));
  const fs::path ca_cert = rig.pki.issuer.ca_cert_path("device-ca");
  fs::rename(ca_cert, ca_cert.string() + ".away");
  std::ostringstream log;
  LogCapture capture(log);
  rig.source.apply(rig.cfg);
  // Two rows of that CA, read through two `issuers:` entries: one warning per refresh.
  CHECK(occurrences(log.str(), "ledger rows of CA device-ca") == 1);
  CHECK(rig.record(LedgerRig::target("device-ca", "meter-2", meter2)) != nullptr);
  rig.source.refresh();
  CHECK(occurrences(log.str(), "ledger rows of CA device-ca") == 2);
  const auto* meter = rig.record(LedgerRig::target("device-ca", "meter-1", rig.meter));
  REQUIRE(meter != nullptr);
  CHECK(meter->issuer.empty());
  CHECK(meter->issuer_cn.empty());
  CHECK(meter->signature_algorithm.empty());
  CHECK(meter->subject_cn == "Meter, One");
  // A later refresh reads it again. (The rows leave the inventory first: it keeps the record it
  // interned for a fingerprint while an entry holds it.)
  fs::rename(ca_cert.string() + ".away", ca_cert);
  const auto issuers = rig.cfg.issuers;
  rig.cfg.issuers.clear();
  rig.source.apply(rig.cfg);
  REQUIRE(rig.inventory.size(SourceKind::ledger) == 0);
  rig.cfg.issuers = issuers;
  rig.source.apply(rig.cfg);
  meter = rig.record(LedgerRig::target("device-ca", "meter-1", rig.meter));
  REQUIRE(meter != nullptr);
  check_record(*meter, rig.meter);
  rig.source.stop();
}

TEST_CASE("the rows of a managed entry are its managed place's, not ledger targets",
          "[agent][ledger]") {
  LedgerRig rig;
  certwatch::config::ManagedEntry managed;
  managed.name = "meter-1";
  // Another CA's entry of the same name does not own the row.
  managed.issuer = "server-ca";
  rig.cfg.managed = {managed};
  rig.source.apply(rig.cfg);
  CHECK(rig.record(LedgerRig::target("device-ca", "meter-1", rig.meter)) != nullptr);

  // Its own CA's, through either `issuers:` entry on the directory: gone, on apply.
  rig.cfg.managed[0].issuer = "devices";
  rig.source.apply(rig.cfg);
  CHECK(rig.record(LedgerRig::target("device-ca", "meter-1", rig.meter)) == nullptr);
  CHECK(rig.inventory.size(SourceKind::ledger) == 1);
  CHECK(certwatch::agent::managed_row(rig.cfg, rig.cfg.issuers[0],
                                      *(*rig.pki.issuer.ledger())->find_name("meter-1")->begin()));
  rig.source.stop();
}

TEST_CASE("an ACME row is named after its issuers entry, its CA being a URL", "[agent][ledger]") {
  certwatch::config::IssuerEntry acme;
  acme.name = "letsencrypt";
  acme.acme = certwatch::config::AcmeIssuer{};
  acme.acme->directory = "https://acme.example/directory";
  auto row = ledger_row(0, 1);
  row.ca = acme.acme->directory;
  CHECK(certwatch::agent::ledger_target(acme, row) == "letsencrypt/meter-1/0A1B");
  certwatch::config::IssuerEntry builtin;
  builtin.name = "server-ca";
  CHECK(certwatch::agent::ledger_target(builtin, ledger_row(0, 1)) == "device-ca/meter-1/0A1B");

  certwatch::config::Config cfg;
  cfg.issuers = {acme};
  certwatch::config::ManagedEntry managed;
  managed.name = "meter-1";
  managed.issuer = "letsencrypt";
  cfg.managed = {managed};
  CHECK(certwatch::agent::managed_row(cfg, acme, row));
  CHECK_FALSE(certwatch::agent::managed_row(cfg, builtin, ledger_row(0, 1)));
}

// The ledger keeps serials without leading zeros; the oracle is the certificate's own serial.
TEST_CASE("a ledger record's serial is written as the certificate writes it", "[agent][ledger]") {
  testing::TempDir tmp;
  testing::PkiFixture f(tmp / "certs");
  const auto root = f.root("root", testing::CertOptions::of("Serial Root"));
  for (const std::string serial : {"0x0ABC", "0x1ABC", "0x00F1"}) {
    const auto leaf =
        f.client("leaf" + serial, root, testing::CertOptions::of("leaf").with_serial(serial));
    const auto cert = testing::load_certs(leaf.cert).front();
    auto ledger = certwatch::pki::Ledger::open(tmp / ("ledger" + serial + ".sqlite"));
    REQUIRE(ledger.ok());
    auto row = ledger_row(cert.validity().not_before, cert.validity().not_after);
    row.serial = cert.serial_hex();
    REQUIRE(ledger->insert(row).ok());
    const auto rows = ledger->list();
    REQUIRE(rows.ok());
    REQUIRE(rows->size() == 1);
    certwatch::config::Config cfg;
    const auto e = certwatch::agent::ledger_entry("x", rows->front(), std::nullopt, cfg,
                                                  cert.validity().not_before);
    INFO(serial << " stored as " << rows->front().serial);
    CHECK(e.report.certs.at(0).serial == cert.serial_hex());
  }
}
