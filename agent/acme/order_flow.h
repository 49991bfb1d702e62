// One ACME order as a coroutine (RFC 8555 7.4): newOrder, each authorization's challenge through
// the solver (present, then POST {} to the challenge, then poll the authorization), the order
// polled to ready, finalize with the CSR, the order polled to valid, the chain downloaded.
// Polls honour Retry-After (capped) and stop at the order's deadline; every presented challenge
// is recorded so the caller can clean each one up whatever happened.
// Thread-safety: io_context thread only.
#pragma once

// clang-format off
#include <utility>  // before asio: Boost 1.74 + GCC 12 + C++20
// clang-format on

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <vector>

#include "agent/acme/acme_client.h"
#include "agent/acme/acme_session.h"

namespace certwatch::agent::acme {

struct OrderContext {
  AcmeSession& session;
  ChallengeSolver& solver;
  std::string thumbprint;  // the account key's (key authorizations)
  std::chrono::steady_clock::time_point deadline;
  std::chrono::milliseconds order_timeout;
  // Told the timer a wait is parked on (nullptr when it resumes), so a cancel can wake it.
  std::function<void(boost::asio::steady_timer*)> on_wait;
  std::function<bool()> cancelled;
  std::vector<Challenge> presented;  // filled as present() is called
};

boost::asio::awaitable<certwatch::Result<OrderResult>> run_order(OrderContext& ctx,
                                                                 const OrderRequest& request);

// Sleeps `delay` unless cancelled (a cancel of the parked timer wakes it).
boost::asio::awaitable<void> pause(std::chrono::milliseconds delay,
                                   const std::function<void(boost::asio::steady_timer*)>& on_wait);

}  // namespace certwatch::agent::acme
