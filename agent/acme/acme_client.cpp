// Client::make and the client's coroutines (acme_client.h). The state shared by the coroutines
// lives in one shared_ptr so a Client destroyed mid-order leaves nothing dangling: the
// coroutine finishes with "cancelled" and calls its callback once.
#include "agent/acme/acme_client.h"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <set>

#include "agent/acme/acme_session.h"
#include "agent/acme/await_callback.h"
#include "agent/acme/client_registry.h"
#include "agent/acme/order_flow.h"
#include "agent/acme/renewal_info.h"
#include "pki/acme/jws.h"

namespace certwatch::agent::acme {

namespace asio = boost::asio;
using certwatch::make_error;
using certwatch::Result;

namespace {

struct State {
  asio::io_context& io;
  ClientSettings settings;
  pki::UniquePtr<EVP_PKEY> key;
  std::string thumbprint;
  std::unique_ptr<HttpsTransport> transport;
  std::unique_ptr<AcmeSession> session;
  std::set<asio::steady_timer*> parked;  // waits a cancel must wake
  bool cancelled = false;

  std::function<void(asio::steady_timer*)> parker() {
    // One slot per waiting coroutine: the first call parks, the call with nullptr unparks.
    auto current = std::make_shared<asio::steady_timer*>(nullptr);
    return [this, current](asio::steady_timer* t) {
      if (t != nullptr) {
        parked.insert(t);
        // Cancelled before the wait began (from inside a solver's present): a cancel() would
        // find no wait to end, so the wait is made to end at once.
        if (cancelled) t->expires_at(asio::steady_timer::time_point::min());
      } else {
        parked.erase(*current);
      }
      *current = t;
    };
  }
};

// Cleans up every presented challenge, each bounded by the request timeout; failures are logged
// by token prefix only (the key authorization is a credential while the order is pending).
asio::awaitable<void> cleanup_all(std::shared_ptr<State> state, ChallengeSolver& solver,
                                  std::vector<Challenge> presented) {
  for (const auto& ch : presented) {
    const std::function<void(std::function<void(Result<void>)>)> clean =
        [&](std::function<void(Result<void>)> cb) { solver.cleanup(ch, std::move(cb)); };
    const std::function<void(asio::steady_timer*)> no_park;
    auto r = co_await await_callback<Result<void>>(
        std::chrono::steady_clock::now() + state->settings.request_timeout, clean, no_park);
    const std::string token = ch.token.substr(0, 8) + "...";
    if (!r)
      spdlog::warn("acme: cleanup of the {} challenge for {} (token {}) did not finish in {} ms",
                   ch.type, ch.identifier, token, state->settings.request_timeout.count());
    else if (!r->ok())
      spdlog::warn("acme: cleanup of the {} challenge for {} (token {}) failed: {}", ch.type,
                   ch.identifier, token, r->error().message);
  }
}

asio::awaitable<void> order_task(std::shared_ptr<State> state, OrderRequest request,
                                 ChallengeSolver& solver,
                                 std::function<void(Result<OrderResult>)> done) {
  OrderContext ctx{*state->session,
                   solver,
                   state->thumbprint,
                   std::chrono::steady_clock::now() + state->settings.order_timeout,
                   state->settings.order_timeout,
                   state->parker(),
                   [state] { return state->cancelled; },
                   {}};
  Result<OrderResult> result = make_error("acme: cancelled");
  if (!state->cancelled) {
    // Every request, poll and wait of the order ends by its deadline, not only the polls.
    state->session->set_deadline(ctx.deadline);
    try {
      result = co_await run_order(ctx, request);
    } catch (const std::exception& e) {  // nlohmann or asio throwing: never out of the handler
      result = make_error(std::string("acme: ") + e.what());
    }
    state->session->set_deadline(std::chrono::steady_clock::time_point::max());
  }
  if (!result.ok()) state->session->forget();
  co_await cleanup_all(state, solver, std::move(ctx.presented));
  if (state->cancelled && result.ok()) result = make_error("acme: cancelled");
  done(std::move(result));
}

asio::awaitable<void> renewal_info_task(std::shared_ptr<State> state, std::string leaf_der,
                                        std::function<void(Result<RenewalInfo>)> done) {
  Result<RenewalInfo> result = make_error("acme: cancelled");
  if (!state->cancelled) {
    try {
      result = co_await fetch_renewal_info(*state->session, leaf_der);
    } catch (const std::exception& e) {
      result = make_error(std::string("acme: ") + e.what());
    }
  }
  done(std::move(result));
}

// A client whose settings could not be used (a key ACME cannot sign with, unreadable trust):
// make() cannot fail by its signature, so every call answers with the reason instead.
class BrokenClient final : public Client {
 public:
  BrokenClient(asio::io_context& io, std::string reason) : io_(io), reason_(std::move(reason)) {}
  void order(const OrderRequest&, ChallengeSolver&,
             std::function<void(Result<OrderResult>)> done) override {
    asio::post(io_, [done = std::move(done), r = reason_] { done(make_error(r)); });
  }
  void renewal_info(const std::string&, std::function<void(Result<RenewalInfo>)> done) override {
    asio::post(io_, [done = std::move(done), r = reason_] { done(make_error(r)); });
  }
  void cancel() override {}

 private:
  asio::io_context& io_;
  std::string reason_;
};

class ClientImpl final : public Client {
 public:
  explicit ClientImpl(std::shared_ptr<State> state) : state_(std::move(state)) {
    ClientRegistry::of(state_->io).add(this);
  }
  ~ClientImpl() override {
    ClientRegistry::of(state_->io).remove(this);
    cancel();
  }

  void order(const OrderRequest& request, ChallengeSolver& solver,
             std::function<void(Result<OrderResult>)> done) override {
    asio::co_spawn(state_->io, order_task(state_, request, solver, std::move(done)),
                   asio::detached);
  }

  void renewal_info(const std::string& leaf_der,
                    std::function<void(Result<RenewalInfo>)> done) override {
    asio::co_spawn(state_->io, renewal_info_task(state_, leaf_der, std::move(done)),
                   asio::detached);
  }

  void cancel() override {
    state_->cancelled = true;
    state_->transport->cancel();
    for (auto* t : state_->parked) t->cancel();
  }

 private:
  std::shared_ptr<State> state_;
};

}  // namespace

std::unique_ptr<Client> Client::make(asio::io_context& io, ClientSettings settings,
                                     pki::UniquePtr<EVP_PKEY> account_key) {
  auto state = std::make_shared<State>(
      State{io, std::move(settings), std::move(account_key), {}, {}, {}, {}, false});
  auto thumbprint = state->key ? pki::jwk_thumbprint(state->key.get())
                               : Result<std::string>(make_error("no account key"));
  auto transport =
      HttpsTransport::make(io, state->settings.server_trust, state->settings.request_timeout);
  // make() cannot fail by signature: a bad key or trust fails every call with the reason.
  std::string broken;
  if (ClientRegistry::of(io).stopped())
    broken = "acme: cancelled: the agent is stopping";
  else if (!thumbprint)
    broken = "acme: account key: " + thumbprint.error().message;
  else if (!transport)
    broken = "acme: " + transport.error().message;
  if (!broken.empty()) return std::make_unique<BrokenClient>(io, broken);
  state->thumbprint = *thumbprint;
  state->transport = std::move(*transport);
  state->session =
      std::make_unique<AcmeSession>(*state->transport, state->settings, state->key.get());
  return std::make_unique<ClientImpl>(std::move(state));
}

}  // namespace certwatch::agent::acme
