#include "agent/renew/ledger_source.h"

#include <spdlog/spdlog.h>

#include "agent/renew/acme_issuer.h"
#include "config/judge_context.h"
#include "pki/judge/expiry.h"
#include "pki/x509/issued_facts.h"
#include "pki/x509/rfc2253.h"

namespace certwatch::agent {
namespace {

// The words Certificate::key_description() gives for the row's key ("ec-p256" -> "EC P-256"),
// so that the row labels its certificate as a file holding it does; "" for a word pki does not
// know (a row written by another version).
std::string key_words(const std::string& key_type) {
  auto type = pki::parse_key_type(key_type);
  return type ? pki::describe_public_key(pki::key_type_info(*type)) : std::string();
}

// Certificate::serial_hex() of the row's certificate: the ledger stores serials without leading
// zeros (pki::normalize_serial), the certificate prints whole octets ("0ABC", not "ABC").
std::string certificate_serial(const std::string& serial) {
  return serial.size() % 2 == 1 && serial != "0" ? "0" + serial : serial;
}

const config::IssuerEntry* issuer_named(const config::Config& cfg, const std::string& name) {
  for (const auto& i : cfg.issuers)
    if (i.name == name) return &i;
  return nullptr;
}

}  // namespace

std::string ledger_target(const config::IssuerEntry& issuer, const pki::LedgerEntry& row) {
  // An ACME row's CA is the directory URL; the entry names that directory's account and state
  // (agent/renew/acme_issuer.h), one ledger per entry, so it names the row's CA as well.
  const std::string& ca = issuer.acme ? issuer.name : row.ca;
  return ca + "/" + row.name + "/" + row.serial;
}

bool managed_row(const config::Config& cfg, const config::IssuerEntry& issuer,
                 const pki::LedgerEntry& row) {
  for (const auto& m : cfg.managed) {
    if (m.name != row.name) continue;
    const auto* own = issuer_named(cfg, m.issuer);
    if (own == nullptr || own->acme.has_value() != issuer.acme.has_value()) continue;
    // By directory and CA, not by entry name: another `issuers:` entry on the same directory
    // reads the same row.
    if (own->acme ? own->name == issuer.name : own->pki_dir == issuer.pki_dir && own->ca == row.ca)
      return true;
  }
  return false;
}

InventoryEntry ledger_entry(const std::string& target, const pki::LedgerEntry& row,
                            const std::optional<CaFacts>& ca, const config::Config& cfg,
                            int64_t now) {
  InventoryEntry e;
  auto& r = e.report;
  r.target = target;
  pki::CertRecord c;
  c.index = 0;
  c.role = pki::CertRole::leaf;
  c.subject = row.subject;
  c.subject_cn = pki::rfc2253_cn(row.subject);
  if (ca) {
    c.issuer = ca->issuer;
    c.issuer_cn = ca->issuer_cn;
    c.signature_algorithm = ca->signature_algorithm;
  }
  c.serial = certificate_serial(row.serial);
  c.sha256 = row.sha256;
  c.not_before = row.not_before;
  c.not_after = row.not_after;
  c.sans = row.sans;
  c.key_type = key_words(row.key_type);
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
  CaFactsCache cas;  // a CA certificate replaced between refreshes is read again
  // An ACME CA's certificate is not kept here: its rows carry no issuer facts.
  const std::optional<CaFacts> no_ca;
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
      if (managed_row(config_, issuer, row)) continue;
      const std::string id = ledger_target(issuer, row);
      if (!seen.insert(id).second) continue;  // two issuers entries on one directory
      const auto& ca = issuer.acme ? no_ca : cas.get(issuer.pki_dir, row.ca);
      inventory_.observe({SourceKind::ledger, id}, ledger_entry(id, row, ca, config_, now));
    }
  }
  for (const auto& id : targets_)
    if (seen.count(id) == 0) inventory_.remove({SourceKind::ledger, id});
  targets_ = std::move(seen);
}

}  // namespace certwatch::agent
