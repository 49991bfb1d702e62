#include "agent/renew/ledger_source.h"

#include <spdlog/spdlog.h>

#include "agent/renew/acme_issuer.h"
#include "config/judge_context.h"
#include "pki/judge/expiry.h"

namespace certwatch::agent {
namespace {

// "CN=dev-1,O=Lab" -> "dev-1" (the first CN in an RFC 2253 string; escapes are kept as is).
std::string common_name(const std::string& dn) {
  const auto p = dn.find("CN=");
  if (p == std::string::npos) return "";
  const auto e = dn.find(',', p);
  return dn.substr(p + 3, e == std::string::npos ? std::string::npos : e - p - 3);
}

}  // namespace

InventoryEntry ledger_entry(const std::string& target, const pki::LedgerEntry& row,
                            const config::Config& cfg, int64_t now) {
  InventoryEntry e;
  auto& r = e.report;
  r.target = target;
  pki::CertRecord c;
  c.role = pki::CertRole::leaf;
  c.subject = row.subject;
  c.subject_cn = common_name(row.subject);
  c.issuer_cn = row.ca;
  c.serial = row.serial;
  c.sha256 = row.sha256;
  c.not_before = row.not_before;
  c.not_after = row.not_after;
  c.sans = row.sans;
  c.key_type = row.key_type;
  r.certs.push_back(std::move(c));
  r.trusted = true;  // signed here; the ledger is the issuer's own record
  r.findings =
      pki::judge_record_expiry(r.certs.front(), config::ledger_judge_context(cfg).at(now), target);
  return e;
}

LedgerSource::LedgerSource(Clock& clock, Inventory& inventory, std::chrono::seconds refresh)
    : clock_(clock), inventory_(inventory), refresh_(refresh), timer_(clock.make_timer()) {}

void LedgerSource::apply(const config::Config& cfg) {
  config_ = cfg;
  stopped_ = false;
  refresh();
  arm();
}

void LedgerSource::stop() {
  stopped_ = true;
  timer_->cancel();
}

void LedgerSource::arm() {
  if (stopped_) return;
  timer_->wait_for(refresh_, [this](bool fired) {
    if (!fired || stopped_) return;
    refresh();
    arm();
  });
}

void LedgerSource::refresh() {
  const int64_t now = clock_.now();
  std::set<std::string> seen;
  for (const auto& issuer : config_.issuers) {
    // An ACME issuer's ledger appears with its first certificate (agent/renew/acme_issuer.h).
    const auto path = issuer.acme ? acme_state_dir(config_, issuer.name) / "ledger.sqlite"
                                  : issuer.pki_dir / "ledger.sqlite";
    if (std::error_code ec; issuer.acme && !std::filesystem::exists(path, ec)) continue;
    auto ledger = pki::Ledger::open(path);
    if (!ledger) {
      spdlog::warn("ledger of issuer {}: {}", issuer.name, ledger.error().message);
      continue;
    }
    auto rows = ledger->list();
    if (!rows) {
      spdlog::warn("ledger of issuer {}: {}", issuer.name, rows.error().message);
      continue;
    }
    for (const auto& row : *rows) {
      if (row.status != "valid" || (row.profile != "server" && row.profile != "client")) continue;
      const std::string id = issuer.name + "/" + row.name + "/" + row.serial;
      if (!seen.insert(id).second) continue;  // two issuers entries on one directory
      inventory_.observe({SourceKind::ledger, id}, ledger_entry(id, row, config_, now));
    }
  }
  for (const auto& id : targets_)
    if (seen.count(id) == 0) inventory_.remove({SourceKind::ledger, id});
  targets_ = std::move(seen);
}

}  // namespace certwatch::agent
