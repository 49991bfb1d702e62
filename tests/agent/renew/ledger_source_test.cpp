#include "agent/renew/ledger_source.h"

#include <catch2/catch.hpp>

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

  const auto fresh = certwatch::agent::ledger_entry(id, row, cfg, 1010 * day);
  REQUIRE(fresh.report.certs.size() == 1);
  CHECK(fresh.report.certs[0].subject_cn == "meter-1");
  CHECK(fresh.report.certs[0].issuer_cn == "device-ca");
  CHECK(fresh.report.trusted);
  CHECK(fresh.report.findings.empty());

  const auto soon = certwatch::agent::ledger_entry(id, row, cfg, 1070 * day);
  REQUIRE(soon.report.findings.size() == 1);
  CHECK(soon.report.findings[0].id == "cert.expires_soon");
  CHECK(soon.report.findings[0].severity == Severity::warning);
  CHECK(soon.report.findings[0].target == id + "#0");
  CHECK(soon.report.findings[0].message == "expires in 20d (notAfter 1972-12-26T00:00:00Z)");

  const auto critical = certwatch::agent::ledger_entry(id, row, cfg, 1085 * day);
  REQUIRE(critical.report.findings.size() == 1);
  CHECK(critical.report.findings[0].severity == Severity::critical);

  const auto expired = certwatch::agent::ledger_entry(id, row, cfg, 1092 * day);
  REQUIRE(expired.report.findings.size() == 1);
  CHECK(expired.report.findings[0].id == "cert.expired");
  CHECK(expired.report.findings[0].message == "expired 2d ago");

  // The config's thresholds and severities apply, as to every other target.
  cfg.agent.thresholds = {10 * day, 2 * day};
  CHECK(certwatch::agent::ledger_entry(id, row, cfg, 1070 * day).report.findings.empty());
  cfg.severities["cert.expired"] = Severity::warning;
  CHECK(certwatch::agent::ledger_entry(id, row, cfg, 1092 * day).report.findings[0].severity ==
        Severity::warning);
}
