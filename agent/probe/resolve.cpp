// async_resolve (see resolve.h).
#include "agent/probe/resolve.h"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <mutex>
#include <system_error>
#include <thread>

namespace certwatch::agent::probe {
namespace {

namespace asio = boost::asio;

Resolved lookup(const std::string& host) {
  std::vector<asio::ip::address> addresses;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res); rc != 0)
    return certwatch::make_error(::gai_strerror(rc), ErrorKind::not_found);
  for (const addrinfo* a = res; a != nullptr; a = a->ai_next) {
    asio::ip::address ip;
    if (a->ai_family == AF_INET) {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(a->ai_addr);
      ip = asio::ip::address_v4(ntohl(sin->sin_addr.s_addr));
    } else if (a->ai_family == AF_INET6) {
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(a->ai_addr);
      asio::ip::address_v6::bytes_type b;
      std::copy(std::begin(sin6->sin6_addr.s6_addr), std::end(sin6->sin6_addr.s6_addr), b.begin());
      ip = asio::ip::address_v6(b, sin6->sin6_scope_id);
    } else {
      continue;
    }
    // getaddrinfo lists an address once per protocol on some systems.
    if (std::find(addresses.begin(), addresses.end(), ip) == addresses.end())
      addresses.push_back(ip);
  }
  ::freeaddrinfo(res);
  if (addresses.empty())
    return certwatch::make_error("no IPv4 or IPv6 address", ErrorKind::not_found);
  return addresses;
}

// Shared by the lookup thread and the io side. `deliver` is cleared (under the lock) when the
// io side stops caring, so the thread never posts to an io_context that may be gone.
struct Mailbox {
  std::mutex m;
  std::function<void(Resolved)> deliver;
};

class Pending final : public PendingResolve, public std::enable_shared_from_this<Pending> {
 public:
  Pending(asio::io_context& io, std::function<void(Resolved)> done)
      : io_(io), timer_(io), done_(std::move(done)), mailbox_(std::make_shared<Mailbox>()) {}

  void start(const std::string& host, std::chrono::milliseconds timeout) {
    std::weak_ptr<Pending> weak = weak_from_this();
    mailbox_->deliver = [io = &io_, weak](Resolved r) {
      asio::post(*io, [weak, r = std::move(r)]() mutable {
        if (auto self = weak.lock()) self->finish(std::move(r));
      });
    };
    timer_.expires_after(timeout);
    timer_.async_wait([weak, timeout](const boost::system::error_code& ec) {
      auto self = weak.lock();
      if (ec || !self) return;
      self->finish(certwatch::make_error(
          "timed out after " + std::to_string(timeout.count()) + " ms", ErrorKind::failed));
    });
    try {
      std::thread([mailbox = mailbox_, host] {
        Resolved r = lookup(host);
        const std::lock_guard lock(mailbox->m);
        if (mailbox->deliver) mailbox->deliver(std::move(r));
      }).detach();
    } catch (const std::system_error& e) {
      // No thread to spare: an answer like any other (posted), never an exception out of the
      // handler that started the probe.
      mailbox_->deliver(certwatch::make_error(std::string("cannot start the lookup: ") + e.what(),
                                              ErrorKind::failed));
    }
  }

  void abandon() override {
    {
      const std::lock_guard lock(mailbox_->m);
      mailbox_->deliver = nullptr;
    }
    timer_.cancel();
    done_ = nullptr;
  }

  ~Pending() override { abandon(); }

  void finish(Resolved r) {
    auto done = std::move(done_);
    abandon();
    if (done) done(std::move(r));
  }

 private:
  asio::io_context& io_;
  asio::steady_timer timer_;
  std::function<void(Resolved)> done_;
  std::shared_ptr<Mailbox> mailbox_;
};

}  // namespace

std::shared_ptr<PendingResolve> async_resolve(asio::io_context& io, const std::string& host,
                                              std::chrono::milliseconds timeout,
                                              std::function<void(Resolved)> done) {
  boost::system::error_code ec;
  const auto literal = asio::ip::make_address(host, ec);
  auto pending = std::make_shared<Pending>(io, std::move(done));
  if (!ec) {
    Resolved r = std::vector<asio::ip::address>{literal};
    // Posted, not called: `done` never runs inside async_resolve.
    asio::post(io, [pending, r = std::move(r)]() mutable { pending->finish(std::move(r)); });
    return pending;
  }
  pending->start(host, timeout);
  return pending;
}

}  // namespace certwatch::agent::probe
