// Bridges a callback API (a ChallengeSolver, the prober's resolver) into the ACME coroutines:
// start(cb) is called once; the coroutine resumes when cb runs or when `deadline` passes,
// whichever comes first (nullopt then). The callback may run late, after the coroutine gave up:
// it only touches the shared slot, which outlives both. Signalled through a timer, so a cancel
// of that timer (Client::cancel) also resumes the coroutine with nullopt.
// Thread-safety: io_context thread only.
#pragma once

// clang-format off
#include <utility>  // before asio: Boost 1.74 + GCC 12 + C++20
// clang-format on

#include <boost/asio/awaitable.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>

namespace certwatch::agent::acme {

template <class T>
struct CallbackSlot {
  explicit CallbackSlot(boost::asio::any_io_executor ex) : timer(std::move(ex)) {}
  boost::asio::steady_timer timer;
  std::optional<T> value;
  bool done = false;
};

// `on_wait` (may be empty) is told the slot's timer while waiting, so a cancel can wake the
// coroutine. Pass named objects: GCC 12 destroys class temporaries of a co_await expression twice.
template <class T>
boost::asio::awaitable<std::optional<T>> await_callback(
    std::chrono::steady_clock::time_point deadline,
    const std::function<void(std::function<void(T)>)>& start,
    const std::function<void(boost::asio::steady_timer*)>& on_wait) {
  auto ex = co_await boost::asio::this_coro::executor;
  auto slot = std::make_shared<CallbackSlot<T>>(ex);
  slot->timer.expires_at(deadline);
  start([slot](T value) {
    if (slot->done) return;
    slot->done = true;
    slot->value.emplace(std::move(value));
    slot->timer.cancel();
  });
  if (!slot->done) {
    if (on_wait) on_wait(&slot->timer);
    boost::system::error_code ec;
    co_await slot->timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    if (on_wait) on_wait(nullptr);
  }
  slot->done = true;  // a late callback is dropped
  co_return std::move(slot->value);
}

}  // namespace certwatch::agent::acme
