// Name resolution for the prober: getaddrinfo (A and AAAA) on a detached thread whose answer
// is posted to the io_context, under a deadline kept on the io_context. getaddrinfo cannot be
// cancelled, and asio's resolver runs every lookup of an io_context on one internal thread (a
// slow name would queue every other one behind it) and joins that thread on destruction.
// An IP literal is answered at once, without a thread.
#pragma once

#include <utility>  // before asio: Boost 1.74 + GCC 12 + C++20

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"

namespace certwatch::agent::probe {

// The addresses (distinct, in resolver order; never empty), or why there are none.
using Resolved = certwatch::Result<std::vector<boost::asio::ip::address>>;

// A lookup in flight; abandon() drops its answer (the thread finishes on its own and posts
// nothing; `done` is not called). Must be called on the io_context's thread before the
// io_context is destroyed if the lookup may still be running.
class PendingResolve {
 public:
  virtual ~PendingResolve() = default;
  virtual void abandon() = 0;
};

// Resolves `host`; `done` runs on `io` once, with the addresses or why there are none (also
// "timed out after N ms"). Keep the returned handle until then: dropping it abandons the lookup.
std::shared_ptr<PendingResolve> async_resolve(boost::asio::io_context& io, const std::string& host,
                                              std::chrono::milliseconds timeout,
                                              std::function<void(Resolved)> done);

}  // namespace certwatch::agent::probe
