#include "agent/acme/order_flow.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <boost/asio/ip/address.hpp>
#include <span>

#include "agent/acme/acme_problem.h"
#include "agent/acme/await_callback.h"
#include "pki/acme/jws.h"

namespace certwatch::agent::acme {

namespace asio = boost::asio;
using certwatch::make_error;
using certwatch::Result;
using nlohmann::json;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr milliseconds kFirstPoll{50};  // pebble without sleeps answers within this
constexpr milliseconds kMaxPoll{2000};  // our own backoff when the server gives no Retry-After
constexpr milliseconds kMaxRetryAfter{10000};  // a server's Retry-After is honoured up to this
constexpr size_t kMaxTokenLength = 256;
// POST-as-GET. Every argument of a co_await call here is a named object: GCC 12 destroys class
// temporaries of a co_await expression twice.
const std::optional<json> kNoPayload;
// Statuses that end a poll (named arrays: GCC 12 miscompiles braced lists inside co_await).
constexpr std::array<std::string_view, 5> kAuthorizationFinal{"valid", "invalid", "deactivated",
                                                              "expired", "revoked"};
constexpr std::array<std::string_view, 3> kOrderReady{"ready", "valid", "invalid"};
constexpr std::array<std::string_view, 2> kOrderFinal{"valid", "invalid"};

std::string member(const json& j, const char* name) {
  return j.is_object() && j.contains(name) && j[name].is_string() ? j[name].get<std::string>()
                                                                  : std::string();
}

Result<json> parse_object(const HttpsResponse& r, const std::string& step) {
  auto j = json::parse(r.body, nullptr, false);
  if (!j.is_object())
    return make_error("acme: " + step + ": the server's answer is not a JSON object");
  return j;
}

bool token_ok(const std::string& token) {
  return !token.empty() && token.size() <= kMaxTokenLength &&
         std::all_of(token.begin(), token.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_'; });
}

std::string dns_txt_value(const std::string& key_authorization) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(key_authorization.data(), key_authorization.size(), md.data(), &len, EVP_sha256(),
             nullptr);
  return pki::base64url(std::string_view(reinterpret_cast<const char*>(md.data()), len));
}

json identifiers_of(const std::vector<std::string>& names) {
  json out = json::array();
  for (const auto& n : names) {
    boost::system::error_code ec;
    asio::ip::make_address(n, ec);
    out.push_back({{"type", ec ? "dns" : "ip"}, {"value", n}});
  }
  return out;
}

// Built outside the coroutines: GCC 12 cannot put a braced json initializer in a coroutine frame.
json new_order_body(const OrderRequest& request) {
  json body = {{"identifiers", identifiers_of(request.identifiers)}};
  if (request.replaces) body["replaces"] = *request.replaces;
  return body;
}

json finalize_body(const OrderRequest& request) {
  return json{{"csr", pki::base64url(request.csr_der)}};
}

std::string ms(milliseconds d) {
  return std::to_string(d.count()) + " ms";
}

// POST-as-GET `url` until its status is one of `final`; the last object, or an error at the
// order's deadline or on cancel.
asio::awaitable<Result<json>> poll(OrderContext& ctx, const std::string& url,
                                   const std::string& step,
                                   std::span<const std::string_view> final) {
  milliseconds backoff = kFirstPoll;
  for (;;) {
    if (ctx.cancelled()) co_return make_error("acme: cancelled at " + step);
    auto r = co_await ctx.session.post(url, kNoPayload, step);
    if (!r) co_return r.error();
    auto obj = parse_object(*r, step);
    if (!obj) co_return obj;
    const std::string status = member(*obj, "status");
    if (std::find(final.begin(), final.end(), status) != final.end()) co_return obj;
    milliseconds wait = backoff;
    backoff = std::min(backoff * 2, kMaxPoll);
    const auto now_unix = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
    if (auto ra = parse_retry_after(r->header("retry-after"), now_unix))
      wait = std::min<milliseconds>(std::chrono::seconds(*ra), kMaxRetryAfter);
    if (SteadyClock::now() + wait > ctx.deadline)
      co_return make_error("acme: order timed out at " + step + " (order_timeout " +
                           ms(ctx.order_timeout) + "): still " +
                           (status.empty() ? "without status" : status) +
                           " when the order's deadline passed");
    co_await pause(wait, ctx.on_wait);
  }
}

asio::awaitable<Result<void>> solve_authorization(OrderContext& ctx, const std::string& authz_url) {
  const std::string authz_step = "authorization";
  auto r = co_await ctx.session.post(authz_url, kNoPayload, authz_step);
  if (!r) co_return r.error();
  auto authz = parse_object(*r, "authorization");
  if (!authz) co_return authz.error();
  const std::string identifier =
      authz->contains("identifier") ? member((*authz)["identifier"], "value") : "";
  const std::string status = member(*authz, "status");
  if (status == "valid") co_return Result<void>();
  if (status != "pending")
    co_return make_error("acme: authorization for " + identifier + " is " + status +
                         ", not pending");
  const std::string type = ctx.solver.type();
  const json* chosen = nullptr;
  std::string offered;
  if (authz->contains("challenges") && (*authz)["challenges"].is_array()) {
    for (const auto& ch : (*authz)["challenges"]) {
      offered += (offered.empty() ? "" : ", ") + member(ch, "type");
      if (member(ch, "type") == type && chosen == nullptr) chosen = &ch;
    }
  }
  if (chosen == nullptr)
    co_return make_error("acme: the server offers no " + type + " challenge for " + identifier +
                         " (offered: " + offered + ")");
  Challenge challenge;
  challenge.type = type;
  challenge.identifier = identifier;
  challenge.token = member(*chosen, "token");
  const std::string challenge_url = member(*chosen, "url");
  if (!token_ok(challenge.token))
    co_return make_error("acme: the " + type + " challenge for " + identifier +
                         " has an unusable token");
  challenge.key_authorization = challenge.token + "." + ctx.thumbprint;
  if (type == "dns-01") challenge.dns_value = dns_txt_value(challenge.key_authorization);

  // A cancel (the agent stopping) while the authorization was fetched: nothing is presented,
  // so no listener opens and no hook runs after it.
  if (ctx.cancelled()) co_return make_error("acme: cancelled at challenge " + identifier);
  ctx.presented.push_back(challenge);
  const std::function<void(std::function<void(Result<void>)>)> present =
      [&](std::function<void(Result<void>)> cb) { ctx.solver.present(challenge, std::move(cb)); };
  auto presented = co_await await_callback<Result<void>>(ctx.deadline, present, ctx.on_wait);
  if (ctx.cancelled()) co_return make_error("acme: cancelled at challenge " + identifier);
  if (!presented)
    co_return make_error("acme: order timed out at challenge " + identifier + " (order_timeout " +
                         ms(ctx.order_timeout) + "): " + ctx.solver.describe() +
                         " did not finish presenting before the order's deadline");
  if (!presented->ok())
    co_return make_error("acme: " + type + " solver failed for " + identifier + ": " +
                         presented->error().message);

  const std::optional<json> empty_object = json::object();
  const std::string challenge_step = "challenge " + identifier,
                    poll_step = "authorization " + identifier;
  auto answered = co_await ctx.session.post(challenge_url, empty_object, challenge_step);
  if (!answered) co_return answered.error();
  auto done = co_await poll(ctx, authz_url, poll_step, kAuthorizationFinal);
  if (!done) co_return done.error();
  if (member(*done, "status") == "valid") co_return Result<void>();
  for (const auto& ch : (*done)["challenges"]) {
    if (ch.contains("error") && ch["error"].is_object())
      co_return make_error(problem_message_of_json(ch["error"].dump(), "challenge " + identifier));
  }
  co_return make_error("acme: authorization for " + identifier + " is " + member(*done, "status"));
}

std::string order_error(const json& order, const std::string& step) {
  if (order.contains("error") && order["error"].is_object())
    return problem_message_of_json(order["error"].dump(), step);
  return "acme: order is " + member(order, "status") + " at " + step;
}

}  // namespace

asio::awaitable<void> pause(milliseconds delay,
                            const std::function<void(asio::steady_timer*)>& on_wait) {
  const std::function<void(std::function<void(bool)>)> nothing =
      [](const std::function<void(bool)>&) {};
  co_await await_callback<bool>(SteadyClock::now() + delay, nothing, on_wait);
}

asio::awaitable<Result<OrderResult>> run_order(OrderContext& ctx, const OrderRequest& request) {
  if (request.identifiers.empty())
    co_return make_error("acme: an order needs at least one identifier");
  auto account = co_await ctx.session.ensure_account();
  if (!account) co_return account.error();

  const std::optional<json> body = new_order_body(request);
  const std::string new_order = ctx.session.endpoint("newOrder"), new_order_step = "newOrder",
                    order_step = "order";
  auto created = co_await ctx.session.post(new_order, body, new_order_step);
  if (!created) co_return created.error();
  OrderResult out;
  out.order_url = created->header("location");
  if (out.order_url.empty())
    co_return make_error("acme: newOrder: the server sent no order URL (Location)");
  auto order = parse_object(*created, "newOrder");
  if (!order) co_return order.error();

  if ((*order).contains("authorizations") && (*order)["authorizations"].is_array()) {
    for (const auto& a : (*order)["authorizations"]) {
      if (!a.is_string()) continue;
      const std::string authz_url = a.get<std::string>();
      auto solved = co_await solve_authorization(ctx, authz_url);
      if (!solved) co_return solved.error();
    }
  }
  auto ready = co_await poll(ctx, out.order_url, order_step, kOrderReady);
  if (!ready) co_return ready.error();
  if (member(*ready, "status") == "invalid") co_return make_error(order_error(*ready, "order"));

  if (member(*ready, "status") == "ready") {
    const std::optional<json> csr = finalize_body(request);
    const std::string finalize_url = member(*ready, "finalize"), finalize_step = "finalize";
    auto finalized = co_await ctx.session.post(finalize_url, csr, finalize_step);
    if (!finalized) co_return finalized.error();
  }
  auto valid = co_await poll(ctx, out.order_url, order_step, kOrderFinal);
  if (!valid) co_return valid.error();
  if (member(*valid, "status") != "valid") co_return make_error(order_error(*valid, "finalize"));

  const std::string cert_url = member(*valid, "certificate"), cert_step = "certificate";
  auto cert = co_await ctx.session.post(cert_url, kNoPayload, cert_step);
  if (!cert) co_return cert.error();
  if (cert->body.find("-----BEGIN CERTIFICATE-----") == std::string::npos)
    co_return make_error("acme: certificate: the download holds no PEM certificate (" +
                         cert->header("content-type") + ")");
  out.chain_pem = std::move(cert->body);
  co_return out;
}

}  // namespace certwatch::agent::acme
