// The signed-request layer of the ACME client: the directory (fetched once), the nonce (taken
// from every response's Replay-Nonce, HEAD newNonce when none is left), POST-as-JWS with the
// account's kid (or its jwk for newAccount), badNonce retried with the error's fresh nonce a
// bounded number of times, and the account itself (found by key with onlyReturnExisting, else
// created with contact, termsOfServiceAgreed and the External Account Binding when configured).
// Every non-2xx answer becomes an error naming the step (acme_problem.h).
// Thread-safety: io_context thread only; one coroutine at a time uses a session.
#pragma once

// clang-format off
#include <utility>  // before asio: Boost 1.74 + GCC 12 + C++20
// clang-format on

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "agent/acme/acme_client.h"
#include "agent/acme/https_exchange.h"

namespace certwatch::agent::acme {

class AcmeSession {
 public:
  // `key` and `transport` outlive the session.
  AcmeSession(HttpsTransport& transport, const ClientSettings& settings, EVP_PKEY* key)
      : transport_(transport), settings_(settings), key_(key) {}

  boost::asio::awaitable<certwatch::Result<void>> ensure_directory();
  boost::asio::awaitable<certwatch::Result<void>> ensure_account();

  // POST-as-JWS with the account's kid; no payload = POST-as-GET. A 2xx answer or an error.
  boost::asio::awaitable<certwatch::Result<HttpsResponse>> post(
      const std::string& url, const std::optional<nlohmann::json>& payload,
      const std::string& step);
  // Unauthenticated GET (directory, renewalInfo). A 2xx answer or an error.
  boost::asio::awaitable<certwatch::Result<HttpsResponse>> get(const std::string& url,
                                                               const std::string& step);

  // Every exchange from now on ends by `deadline` (an order's, ClientSettings::order_timeout),
  // and one cut short by it fails as "acme: order timed out at <step>"; time_point::max(): only
  // request_timeout bounds an exchange.
  void set_deadline(std::chrono::steady_clock::time_point deadline) { deadline_ = deadline; }

  // Drops the directory, nonce and account: after a failed order the next one starts from the
  // directory again (a restarted server knows neither the nonce nor the account).
  void forget();

  // A directory member ("newOrder", "renewalInfo"), "" if absent.
  std::string endpoint(const std::string& name) const;
  const std::string& account_url() const { return account_url_; }

 private:
  boost::asio::awaitable<certwatch::Result<HttpsResponse>> signed_post(const std::string& url,
                                                                       const std::string& payload,
                                                                       bool use_jwk,
                                                                       const std::string& step);
  boost::asio::awaitable<certwatch::Result<void>> fresh_nonce();
  boost::asio::awaitable<certwatch::Result<HttpsResponse>> create_account();
  void keep_nonce(const HttpsResponse& response);
  // One exchange bounded by the deadline; a transport failure names `step`.
  boost::asio::awaitable<certwatch::Result<HttpsResponse>> exchange(HttpsRequest request,
                                                                    const std::string& step);

  HttpsTransport& transport_;
  const ClientSettings& settings_;
  EVP_PKEY* key_;
  nlohmann::json directory_;
  std::string nonce_;
  std::string account_url_;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
};

// Whether `response` is 2xx.
inline bool is_success(const HttpsResponse& response) {
  return response.status >= 200 && response.status < 300;
}

}  // namespace certwatch::agent::acme
