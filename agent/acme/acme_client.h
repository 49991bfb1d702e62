// An RFC 8555 client on the agent's io_context: directory, nonces (badNonce retried), account
// (found by key or created, with optional External Account Binding), order, authorizations,
// challenges through a ChallengeSolver, finalize with a CSR, polling with Retry-After, and the
// certificate chain as served (leaf first). ACME error documents (urn:ietf:params:acme:error:*)
// become errors that carry the server's type and detail. ARI (renewalInfo) when the directory
// offers it.
// Thread-safety: io_context thread only; every callback runs on the io_context, exactly once.
#pragma once

#include <openssl/evp.h>
#include <utility>  // before asio: Boost 1.74 + GCC 12 + C++20

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/acme/challenge_solver.h"
#include "base/result.h"
#include "pki/x509/ossl_ptr.h"

namespace certwatch::agent::acme {

struct ExternalAccountBinding {
  std::string key_id;
  std::string hmac_key;  // raw bytes (the configured file holds base64url); never logged
};

struct ClientSettings {
  std::string directory_url;  // https://...
  std::vector<std::filesystem::path>
      server_trust;                  // CA files for the ACME server's TLS; empty: system trust
  std::vector<std::string> contact;  // "mailto:ops@example.org"
  std::optional<ExternalAccountBinding> eab;
  std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};  // one HTTPS exchange
  std::chrono::milliseconds order_timeout{
      std::chrono::minutes(10)};  // the whole order, polls included
};

struct OrderRequest {
  std::vector<std::string> identifiers;  // DNS names ("dns") or IP literals ("ip")
  std::string csr_der;                   // a CSR for the managed certificate's new key
  std::optional<std::string> replaces;   // ARI certificate id of the certificate being renewed
};

struct OrderResult {
  std::string chain_pem;  // as downloaded: leaf first, then intermediates
  std::string order_url;
};

// draft-ietf-acme-ari: the server's suggested window for renewing a certificate.
struct RenewalInfo {
  int64_t window_start = 0;  // unix seconds
  int64_t window_end = 0;
  std::optional<std::string> explanation_url;
  int64_t retry_after = 0;  // seconds until asking again (Retry-After), 0 = not given
};

class Client {
 public:
  // `account_key`: ES256 (P-256) or RS256 (RSA >= 2048) key; the account is found by it or created.
  static std::unique_ptr<Client> make(boost::asio::io_context& io, ClientSettings settings,
                                      pki::UniquePtr<EVP_PKEY> account_key);
  virtual ~Client() = default;

  // One whole order. Each identifier's challenge of `solver.type()` goes to `solver`.
  virtual void order(const OrderRequest& request, ChallengeSolver& solver,
                     std::function<void(certwatch::Result<OrderResult>)> done) = 0;

  // ARI for a certificate (`leaf_der`); an error when the directory has no
  // renewalInfo or the server does not answer: callers fall back to their own schedule. The
  // error kind is not_found when asking again cannot help (no renewalInfo in the directory, a
  // certificate without the authority key id the ARI id needs).
  virtual void renewal_info(const std::string& leaf_der,
                            std::function<void(certwatch::Result<RenewalInfo>)> done) = 0;

  // Cancel what is in flight: pending callbacks run with an error, solvers are cleaned up.
  // A cancelled client stays cancelled: later calls answer "acme: cancelled" (make a new one).
  virtual void cancel() = 0;
};

}  // namespace certwatch::agent::acme
