// Revocation: a certificate marked revoked in the ledger, and the CA's CRL signed from it.
#include "pki/deploy/atomic_file.h"
#include "pki/issue/crl.h"
#include "pki/issue/issuer_internal.h"

namespace certwatch::pki {

namespace fs = std::filesystem;

Result<LedgerEntry> Issuer::revoke(const std::optional<std::string>& ca,
                                   const std::optional<std::string>& serial,
                                   const std::optional<std::string>& name,
                                   const std::string& reason, int64_t now) {
  if (auto ok = require_pki_dir(); !ok) return ok.error();
  if (serial.has_value() == name.has_value())
    return make_error("give exactly one of a serial and a name", ErrorKind::invalid_input);
  if (auto r = parse_crl_reason(reason); !r) return r.error();
  auto ledger = this->ledger();
  if (!ledger) return ledger.error();
  auto found = serial ? (*ledger)->find_serial(*serial, ca) : (*ledger)->find_name(*name, ca);
  if (!found) return found.error();
  if (found->empty())
    return make_error("no " +
                          std::string(serial ? "certificate with serial " + *serial
                                             : "valid certificate named " + *name) +
                          (ca ? " issued by " + *ca : std::string()) + " in the ledger",
                      ErrorKind::not_found);
  if (found->size() > 1)
    return make_error(std::to_string(found->size()) + " certificates match",
                      ErrorKind::invalid_input, "", "serial");
  LedgerEntry e = found->front();
  if (e.status == "revoked")
    return make_error("serial " + e.serial + " is already revoked", ErrorKind::refused);
  if (auto r = (*ledger)->revoke(e.ca, e.serial, reason, now); !r) return r.error();
  e.status = "revoked";
  e.revoked_at = now;
  e.revocation_reason = reason;
  return e;
}

Result<int> Issuer::withdraw(const std::string& ca, const std::string& serial, int64_t now) {
  if (auto ok = require_pki_dir(); !ok) return ok.error();
  auto ledger = this->ledger();
  if (!ledger) return ledger.error();
  return (*ledger)->withdraw(ca, serial, now);
}

Result<int> Issuer::reinstate(const std::string& ca, const std::string& live_serial, int64_t now) {
  if (auto ok = require_pki_dir(); !ok) return ok.error();
  auto ledger = this->ledger();
  if (!ledger) return ledger.error();
  return (*ledger)->reinstate(ca, live_serial, now);
}

Result<CrlResult> Issuer::write_crl(const std::string& ca,
                                    const std::optional<Passphrase>& passphrase,
                                    int64_t next_update_seconds, int64_t now,
                                    const std::optional<fs::path>& out) {
  if (auto ok = require_pki_dir(); !ok) return ok.error();
  if (next_update_seconds <= 0)
    return make_error("next update must be positive", ErrorKind::invalid_input, "next update");
  auto loaded = load_ca(ca, passphrase);
  if (!loaded) return loaded.error();
  auto ledger = this->ledger();
  if (!ledger) return ledger.error();
  auto revoked = (*ledger)->revoked(ca);
  if (!revoked) return revoked.error();
  std::vector<RevokedCert> list;
  for (const auto& e : *revoked) list.push_back({e.serial, e.revoked_at, e.revocation_reason});
  auto number = (*ledger)->next_crl_number(ca);
  if (!number) return number.error();
  CrlParams params{*number, now - kBackdateSeconds, now + next_update_seconds};
  auto pem = make_crl((*loaded)->cert, (*loaded)->key.get(), list, params);
  if (!pem) return pem.error();
  const fs::path target = out.value_or(crl_path(ca));
  if (target.has_parent_path())
    if (auto r = make_directories(target.parent_path(), kDirMode); !r) return r.error();
  if (auto r = write_file_atomic(target, *pem, kCertMode); !r) return r.error();
  return CrlResult{target, *number, list.size()};
}

}  // namespace certwatch::pki
