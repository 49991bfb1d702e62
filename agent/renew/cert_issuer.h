// Where renewed certificates come from. One interface for every backend: the built-in issuer
// (a certwatch PKI directory, pki/issue/issuer.h) and ACME (RFC 8555, agent/acme/). It is
// asynchronous because an ACME order can take minutes (challenges, polling): issue() returns
// at once and `done` runs later on the agent's io_context, exactly once. Every backend
// returns the whole set (new private key, leaf, chain) and the trust anchor the judge checks
// the chain against before anything live is touched.
// Thread-safety: io_context thread only.
#pragma once

#include <utility>  // before asio: Boost 1.74 + GCC 12 + C++20

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "config/config.h"
#include "pki/deploy/cert_set.h"
#include "pki/x509/certificate.h"

namespace certwatch::agent {

// What to certify: the managed entry's subject, SANs, key type, profile and validity.
struct IssueOrder {
  std::string name;  // the managed entry's name (the ledger's name for the certificate)
  pki::Profile profile = pki::Profile::server;
  std::string subject;
  std::vector<std::string> sans;  // "DNS:x", "IP:y"
  pki::KeyType key_type = pki::KeyType::ec_p256;
  int64_t validity_seconds = 0;
  int64_t now = 0;
};

struct IssuedSet {
  pki::CertSetBytes files;                // key, leaf, chain (leaf then intermediates)
  std::vector<pki::Certificate> anchors;  // the issuer's root(s)
  std::vector<std::string> warnings;      // e.g. validity clamped to the issuer's
};

using IssueDone = std::function<void(certwatch::Result<IssuedSet>)>;

// draft-ietf-acme-ari: when the CA would like a certificate renewed.
struct SuggestedWindow {
  int64_t start = 0;  // POSIX seconds
  int64_t end = 0;
  int64_t retry_after = 0;  // seconds until the CA wants to be asked again; 0: not given
  std::string explanation_url;
};
// The answer to suggested_window: a window or none, and whether asking again later may bring
// one (a CA that did not answer this time) or never will (the built-in CA, a directory without
// renewalInfo): then the scheduler stops asking for this certificate.
struct WindowAnswer {
  std::optional<SuggestedWindow> window;
  bool ask_again = false;
};
using WindowDone = std::function<void(WindowAnswer)>;

class CertIssuer {
 public:
  virtual ~CertIssuer() = default;
  virtual void issue(const IssueOrder& order, IssueDone done) = 0;
  // The CA's suggested renewal window for the deployed leaf (DER), for backends that have one
  // (ACME with renewalInfo); none when the backend or its server has none, and the managed
  // entry's own schedule applies. `done` runs later on the io_context, exactly once.
  virtual void suggested_window(const std::string& leaf_der, WindowDone done) = 0;
  // A set this issuer made never went live (refused by the judge, its deploy failed or was
  // rolled back): the backend forgets it where it keeps records. The built-in CA revokes it in
  // its ledger (as superseded) and makes the certificate it had superseded current again; an
  // ACME CA keeps no ledger here, and its unused certificate expires unused.
  virtual certwatch::Result<void> discard(const std::string& leaf_pem, int64_t now) {
    (void)leaf_pem;
    (void)now;
    return {};
  }
  // The live leaf (PEM) is the current certificate of its name in the backend's records again,
  // where sets that never went live superseded it (a crash between issuance and deploy): the
  // built-in CA withdraws them (Ledger::reinstate). Returns how many; call while holding the
  // managed entry's transaction, or another process's fresh issuance could be taken for one.
  virtual certwatch::Result<int> reinstate(const std::string& leaf_pem, int64_t now) {
    (void)leaf_pem;
    (void)now;
    return 0;
  }
  // A one-line description for logs and the status page ("builtin server-ca in /etc/...").
  virtual std::string describe() const = 0;
};

// The built-in CA: signs with pki::Issuer on the calling thread (milliseconds) and posts the
// result, so callers see the same asynchronous shape as every other backend. The CA key's
// passphrase is read from `passphrase_file`, or from the systemd credential
// $CREDENTIALS_DIRECTORY/<issuer name>.passphrase when that exists, at each issuance.
// `staging_dir` receives the issuer's output files (0700, ours only).
std::unique_ptr<CertIssuer> make_builtin_issuer(boost::asio::io_context& io,
                                                const config::IssuerEntry& entry,
                                                std::filesystem::path staging_dir);

}  // namespace certwatch::agent
