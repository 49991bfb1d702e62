// probe_tls (see tls_probe.h). Each step runs the io_context for at most its deadline and
// closes the socket when the deadline passes, so a black-hole address costs one timeout and
// nothing more. Name resolution runs getaddrinfo on a detached thread: it cannot be cancelled,
// and asio's resolver would join its thread on destruction, past our deadline.
// Boost 1.74's asio/ssl compiles inline code that names OpenSSL's deprecated RSA/DH calls,
// which the build hides (OPENSSL_NO_DEPRECATED, CMakeLists.txt). This file, and only this
// file, sees them so that asio::ssl builds (before any OpenSSL header); nothing here calls them.
#undef OPENSSL_NO_DEPRECATED

#include "agent/probe/tls_probe.h"

#include <netdb.h>
#include <sys/socket.h>

#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#pragma GCC diagnostic pop
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "agent/probe/mqtt_exchange.h"
#include "pki/served_chain.h"

namespace certwatch::probe {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct Resolved {
  std::vector<asio::ip::address> addresses;
  std::optional<std::string> error;
};

Resolved resolve(const std::string& host, milliseconds timeout) {
  struct Shared {
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    Resolved r;
  };
  auto shared = std::make_shared<Shared>();
  std::thread([shared, host] {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    Resolved r;
    if (const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res); rc != 0) {
      r.error = ::gai_strerror(rc);
    } else {
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
        if (std::find(r.addresses.begin(), r.addresses.end(), ip) == r.addresses.end())
          r.addresses.push_back(ip);
      }
      ::freeaddrinfo(res);
      if (r.addresses.empty()) r.error = "no IPv4 or IPv6 address";
    }
    const std::lock_guard lock(shared->m);
    shared->r = std::move(r);
    shared->done = true;
    shared->cv.notify_all();
  }).detach();
  std::unique_lock lock(shared->m);
  if (!shared->cv.wait_for(lock, timeout, [&] { return shared->done; })) {
    Resolved r;
    r.error = "timed out after " + std::to_string(timeout.count()) + " ms";
    return r;
  }
  return shared->r;
}

// Runs one asynchronous step for at most `limit`. On timeout `cancel` closes the socket, the
// aborted handler is drained, and false is returned.
template <class Start, class Cancel>
bool run_step(asio::io_context& io, milliseconds limit, boost::system::error_code& ec, Start start,
              Cancel cancel) {
  bool done = false;
  start([&](const boost::system::error_code& e, auto&&...) {
    ec = e;
    done = true;
  });
  io.restart();
  io.run_for(limit);
  if (done) return true;
  cancel();
  io.restart();
  io.run_for(std::chrono::seconds(1));  // aborted operations complete at once
  return false;
}

std::string timed_out(const char* step, milliseconds limit) {
  return std::string(step) + " timed out after " + std::to_string(limit.count()) + " ms";
}

AddressOutcome probe_address(const TlsTarget& t, const asio::ip::address& ip,
                             asio::ssl::context& ctx) {
  AddressOutcome out;
  out.address = ip.to_string();
  const auto started = Clock::now();
  const auto finish = [&](std::string failure, std::string reason) {
    out.failure = std::move(failure);
    out.reason = std::move(reason);
    out.duration = std::chrono::duration_cast<milliseconds>(Clock::now() - started);
    return out;
  };
  asio::io_context io;
  asio::ssl::stream<tcp::socket> stream(io, ctx);
  auto& sock = stream.next_layer();
  const auto close = [&] {
    boost::system::error_code ignored;
    sock.close(ignored);
  };
  boost::system::error_code ec;
  const tcp::endpoint ep(ip, t.port);
  if (!run_step(io, t.step_timeout, ec, [&](auto h) { sock.async_connect(ep, h); }, close))
    return finish("endpoint.unreachable", timed_out("connect", t.step_timeout));
  if (ec) return finish("endpoint.unreachable", "connect: " + ec.message());
  const auto connect_time = Clock::now() - started;

  SSL* ssl = stream.native_handle();
  if (!t.sni.empty() && !is_ip_literal(t.sni)) SSL_set_tlsext_host_name(ssl, t.sni.c_str());
  stream.set_verify_mode(asio::ssl::verify_none);  // trust is the judge's verdict
  if (!run_step(io, t.step_timeout, ec,
                [&](auto h) { stream.async_handshake(asio::ssl::stream_base::client, h); }, close))
    return finish("endpoint.handshake_failed", timed_out("handshake", t.step_timeout));
  if (ec) return finish("endpoint.handshake_failed", ec.message());

  out.tls_version = SSL_get_version(ssl);
  out.cipher = SSL_get_cipher_name(ssl);
  out.chain = pki::served_chain(ssl);
  if (out.chain.empty()) return finish("endpoint.handshake_failed", "the server sent no certificate");
  const bool mqtt = t.protocol == Protocol::mqtt;
  const auto refused = [&](const boost::system::error_code& e) {
    out.chain.clear();
    return finish("endpoint.handshake_failed", e.message());
  };
  if (SSL_version(ssl) == TLS1_3_VERSION) {
    // In TLS 1.3 the client's handshake ends before the server has read the client's
    // certificate: a refusal (certificate required, unknown CA) arrives as an alert after it.
    // One round trip is enough for it to arrive; connect took about one. For MQTT this wait
    // comes before the CONNECT: a CONNECT sent to a broker that has refused and closed draws a
    // reset, and a reset discards the alert unread.
    const auto rtt = std::chrono::duration_cast<milliseconds>(connect_time);
    const milliseconds wait = std::min(t.step_timeout, std::max(milliseconds(300), 4 * rtt));
    char byte = 0;
    const auto stop_waiting = [&] {
      boost::system::error_code ignored;
      sock.cancel(ignored);  // the read only; the connection stays usable
    };
    const bool read = run_step(io, wait, ec,
                               [&](auto h) { stream.async_read_some(asio::buffer(&byte, 1), h); },
                               stop_waiting);
    if (read && ec && ec.category() == asio::error::get_ssl_category()) return refused(ec);
    if (read && mqtt)
      return finish("endpoint.protocol_failed",
                    ec ? "closed after the handshake: " + ec.message() : "the broker spoke before CONNECT");
  }
  if (mqtt) {
    const auto packet = mqtt_connect_packet("certwatchprobe" + std::to_string(::getpid()));
    if (!run_step(io, t.step_timeout, ec,
                  [&](auto h) { asio::async_write(stream, asio::buffer(packet), h); }, close))
      return finish("endpoint.protocol_failed", timed_out("MQTT CONNECT", t.step_timeout));
    std::array<unsigned char, kConnackSize> connack{};
    if (!ec && !run_step(io, t.step_timeout, ec,
                         [&](auto h) { asio::async_read(stream, asio::buffer(connack), h); }, close))
      return finish("endpoint.protocol_failed", timed_out("waiting for CONNACK", t.step_timeout));
    if (ec && ec.category() == asio::error::get_ssl_category()) return refused(ec);
    if (ec) return finish("endpoint.protocol_failed", "no CONNACK: " + ec.message());
    if (auto problem = mqtt_connack_problem(connack)) return finish("endpoint.protocol_failed", *problem);
  }
  close();
  return finish("", "");
}

}  // namespace

bool is_ip_literal(const std::string& s) {
  boost::system::error_code ec;
  (void)asio::ip::make_address(s, ec);
  return !ec;
}

TlsProbeResult probe_tls(const TlsTarget& target, SSL_CTX* native_ctx) {
  TlsProbeResult result;
  // asio's context takes ownership of the handle it wraps: give it a reference of its own.
  SSL_CTX_up_ref(native_ctx);
  asio::ssl::context ctx(native_ctx);
  Resolved r = resolve(target.host, target.step_timeout);
  if (r.error) {
    result.resolve_error = "cannot resolve " + target.host + ": " + *r.error;
    return result;
  }
  for (const auto& ip : r.addresses) result.addresses.push_back(probe_address(target, ip, ctx));
  return result;
}

}  // namespace certwatch::probe
