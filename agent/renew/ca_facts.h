// What a ledger row's certificate says of its issuer, read from the issuing CA's own
// certificate (<pki_dir>/<ca>/certs/<ca>.cert.pem) since the ledger records no issuer: the
// issuer DN and CN as Certificate::issuer()/issuer_cn() of the row's certificate print them,
// and the signature algorithm the CA's key signs with. The ledger source reads each CA once
// per refresh (CaFactsCache). Thread-safety: io_context thread only.
#pragma once

#include <utility>

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "base/result.h"

namespace certwatch::agent {

struct CaFacts {
  std::string issuer;               // RFC 2253 subject of the CA = the leaf's issuer
  std::string issuer_cn;            // its CN by pki's rule
  std::string signature_algorithm;  // "" if the CA's key does not tell
};

// The facts of CA `ca` in the PKI directory `pki_dir`, or why its certificate cannot be read.
Result<CaFacts> read_ca_facts(const std::filesystem::path& pki_dir, const std::string& ca);

// One refresh's reads: each CA is read once, and a CA that cannot be read is warned about once
// (then answers nullopt: its rows carry no issuer rather than a guess).
class CaFactsCache {
 public:
  const std::optional<CaFacts>& get(const std::filesystem::path& pki_dir, const std::string& ca);

 private:
  std::map<std::pair<std::filesystem::path, std::string>, std::optional<CaFacts>> facts_;
};

}  // namespace certwatch::agent
