#include "agent/renew/ca_facts.h"

#include <spdlog/spdlog.h>

#include "pki/issue/issuer.h"
#include "pki/load/read_file.h"
#include "pki/x509/issued_facts.h"

namespace certwatch::agent {

Result<CaFacts> read_ca_facts(const std::filesystem::path& pki_dir, const std::string& ca) {
  if (auto ok = pki::check_file_name("CA name", ca); !ok) return ok.error();
  // The path as the issuer lays it out; not Issuer::ca_certificate, which also wants the CA's
  // key to exist, and the key is no fact of the certificates it signed.
  const auto path = pki::Issuer(pki_dir).ca_cert_path(ca);
  auto pem = pki::read_regular_file(path, pki::kMaxConfigBytes);
  if (!pem) return pem.error();
  auto cert = pki::Certificate::from_pem(*pem);
  if (!cert) return make_error(path.string() + ": " + cert.error().message, ErrorKind::crypto);
  return CaFacts{cert->subject(), cert->subject_cn(), pki::signature_algorithm_signed_by(*cert)};
}

const std::optional<CaFacts>& CaFactsCache::get(const std::filesystem::path& pki_dir,
                                                const std::string& ca) {
  auto key = std::make_pair(pki_dir, ca);
  if (auto it = facts_.find(key); it != facts_.end()) return it->second;
  auto facts = read_ca_facts(pki_dir, ca);
  if (!facts)
    spdlog::warn("ledger rows of CA {} in {} carry no issuer: {}", ca, pki_dir.string(),
                 facts.error().message);
  return facts_[std::move(key)] = facts ? std::optional<CaFacts>(*facts) : std::nullopt;
}

}  // namespace certwatch::agent
