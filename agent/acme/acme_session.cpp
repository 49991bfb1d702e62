#include "agent/acme/acme_session.h"

#include "agent/acme/acme_problem.h"
#include "pki/acme/jws.h"

namespace certwatch::agent::acme {

using certwatch::make_error;
using certwatch::Result;
namespace asio = boost::asio;

namespace {

// Each retry uses the nonce of the badNonce answer. Generous because a retry is cheap and a
// server may reject nonces at random (pebble's PEBBLE_WFE_NONCEREJECT); still bounded.
constexpr int kBadNonceRetries = 15;
constexpr const char* kJoseJson = "application/jose+json";

}  // namespace

void AcmeSession::forget() {
  directory_ = nullptr;
  nonce_.clear();
  account_url_.clear();
}

void AcmeSession::keep_nonce(const HttpsResponse& response) {
  const std::string nonce = response.header("replay-nonce");
  if (!nonce.empty()) nonce_ = nonce;
}

std::string AcmeSession::endpoint(const std::string& name) const {
  if (!directory_.is_object() || !directory_.contains(name) || !directory_[name].is_string())
    return {};
  return directory_[name].get<std::string>();
}

asio::awaitable<Result<HttpsResponse>> AcmeSession::exchange(HttpsRequest request,
                                                             const std::string& step) {
  request.deadline = deadline_;
  auto r = co_await transport_.exchange(std::move(request));
  if (r) co_return r;
  // Cut short by the order's deadline rather than by request_timeout: the order's verdict.
  if (std::chrono::steady_clock::now() >= deadline_)
    co_return make_error("acme: order timed out at " + step + " (order_timeout " +
                         std::to_string(settings_.order_timeout.count()) +
                         " ms): " + r.error().message);
  co_return make_error("acme: " + step + ": " + r.error().message);
}

asio::awaitable<Result<HttpsResponse>> AcmeSession::get(const std::string& url,
                                                        const std::string& step) {
  // Every argument of a co_await call in agent/acme is a named object: GCC 12 destroys class
  // temporaries of a co_await expression twice (double free).
  HttpsRequest request{"GET", url, "", "", {}};
  auto r = co_await exchange(std::move(request), step);
  if (!r) co_return r.error();
  keep_nonce(*r);
  if (!is_success(*r)) co_return make_error(problem_message(*r, step));
  co_return r;
}

asio::awaitable<Result<void>> AcmeSession::ensure_directory() {
  if (directory_.is_object()) co_return Result<void>();
  const std::string step = "directory";
  auto r = co_await get(settings_.directory_url, step);
  if (!r) co_return r.error();
  auto doc = nlohmann::json::parse(r->body, nullptr, false);
  directory_ = std::move(doc);
  for (const char* member : {"newNonce", "newAccount", "newOrder"}) {
    if (endpoint(member).empty()) {
      directory_ = nullptr;
      co_return make_error("acme: " + settings_.directory_url + " is not an ACME directory (no " +
                           member + ")");
    }
  }
  co_return Result<void>();
}

asio::awaitable<Result<void>> AcmeSession::fresh_nonce() {
  HttpsRequest request{"HEAD", endpoint("newNonce"), "", "", {}};
  const std::string step = "newNonce";
  auto r = co_await exchange(std::move(request), step);
  if (!r) co_return r.error();
  keep_nonce(*r);
  if (nonce_.empty()) co_return make_error("acme: newNonce: the server sent no Replay-Nonce");
  co_return Result<void>();
}

asio::awaitable<Result<HttpsResponse>> AcmeSession::signed_post(const std::string& url,
                                                                const std::string& payload,
                                                                bool use_jwk,
                                                                const std::string& step) {
  for (int attempt = 0;; ++attempt) {
    if (nonce_.empty()) {
      auto n = co_await fresh_nonce();
      if (!n) co_return n.error();
    }
    auto jws = pki::sign_jws(
        key_, pki::JwsHeader{std::exchange(nonce_, {}), url, use_jwk ? "" : account_url_}, payload);
    if (!jws) co_return make_error("acme: " + step + ": " + jws.error().message);
    HttpsRequest request{"POST", url, kJoseJson, *jws, {}};
    auto r = co_await exchange(std::move(request), step);
    if (!r) co_return r.error();
    keep_nonce(*r);
    if (is_success(*r)) co_return r;
    if (problem_type(*r) == "badNonce" && attempt < kBadNonceRetries) continue;
    co_return make_error(problem_message(*r, step));
  }
}

asio::awaitable<Result<HttpsResponse>> AcmeSession::post(
    const std::string& url, const std::optional<nlohmann::json>& payload, const std::string& step) {
  const std::string body = payload ? payload->dump() : std::string();
  auto r = co_await signed_post(url, body, false, step);
  co_return r;
}

asio::awaitable<Result<HttpsResponse>> AcmeSession::create_account() {
  nlohmann::json body = {{"termsOfServiceAgreed", true}};
  if (!settings_.contact.empty()) body["contact"] = settings_.contact;
  if (settings_.eab) {
    auto eab = pki::external_account_binding(key_, settings_.eab->key_id, settings_.eab->hmac_key,
                                             endpoint("newAccount"));
    if (!eab) co_return make_error("acme: newAccount: " + eab.error().message);
    body["externalAccountBinding"] = nlohmann::json::parse(*eab);
  }
  const std::string url = endpoint("newAccount"), text = body.dump(), step = "newAccount";
  auto r = co_await signed_post(url, text, true, step);
  co_return r;
}

asio::awaitable<Result<void>> AcmeSession::ensure_account() {
  if (!account_url_.empty()) co_return Result<void>();
  auto d = co_await ensure_directory();
  if (!d) co_return d.error();
  const std::string url = endpoint("newAccount"), lookup = R"({"onlyReturnExisting":true})",
                    step = "account lookup";
  auto found = co_await signed_post(url, lookup, true, step);
  if (!found) {
    if (found.error().message.rfind("acme: accountDoesNotExist", 0) != 0) co_return found.error();
    found = co_await create_account();
    if (!found) co_return found.error();
  }
  account_url_ = found->header("location");
  if (account_url_.empty())
    co_return make_error("acme: newAccount: the server sent no account URL (Location)");
  co_return Result<void>();
}

}  // namespace certwatch::agent::acme
