#include "agent/server/http_server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/string.hpp>
#include <charconv>
#include <vector>

#include "agent/server/http_session.h"

namespace certwatch::agent {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return beast::iequals(beast::string_view(a.data(), a.size()),
                        beast::string_view(b.data(), b.size()));
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// q-value of one Accept-Encoding element's parameters ("q=0.5"); 1 when absent.
double q_value(std::string_view params) {
  while (!params.empty()) {
    const std::size_t semi = params.find(';');
    std::string_view p = trim(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view() : params.substr(semi + 1);
    if (p.size() >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
      double q = 0;
      const auto v = p.substr(2);
      auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), q);
      return ec == std::errc() ? q : 0.0;
    }
  }
  return 1.0;
}

}  // namespace

bool accepts_gzip(std::string_view accept_encoding) {
  std::optional<double> gzip, any;
  while (!accept_encoding.empty()) {
    const std::size_t comma = accept_encoding.find(',');
    const std::string_view element = accept_encoding.substr(0, comma);
    accept_encoding =
        comma == std::string_view::npos ? std::string_view() : accept_encoding.substr(comma + 1);
    const std::size_t semi = element.find(';');
    const std::string_view coding = trim(element.substr(0, semi));
    const double q = semi == std::string_view::npos ? 1.0 : q_value(element.substr(semi + 1));
    if (iequals(coding, "gzip") || iequals(coding, "x-gzip"))
      gzip = q;
    else if (coding == "*")
      any = q;
  }
  if (gzip) return *gzip > 0;
  return any && *any > 0;
}

// The acceptor and its loop (advanced_server's listener). Owned by HttpServer and by its own
// pending accept, so a stop() posted from another thread finds it alive.
struct HttpServer::Listener : std::enable_shared_from_this<HttpServer::Listener> {
  Listener(asio::io_context& ioc, HttpServerOptions options)
      : ioc(ioc),
        acceptor(ioc),
        retry_timer(ioc),
        shared(std::make_shared<Shared>(std::move(options))) {
    shared->refusals = std::make_shared<RefusalLog>(ioc, shared->options.refusal_log_interval);
  }

  void do_accept() {
    acceptor.async_accept(ioc,
                          [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
                            self->on_accept(ec, std::move(socket));
                          });
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (shared->stopping || !acceptor.is_open()) return;
    if (ec) {
      // EMFILE and friends fail again at once: wait a little instead of spinning.
      http_fail(ec, "accept");
      retry_timer.expires_after(std::chrono::milliseconds(100));
      retry_timer.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
        if (!wait_ec && !self->shared->stopping) self->do_accept();
      });
      return;
    }
    try {
      const auto cap = shared->options.max_connections;
      const auto per_client = shared->options.max_connections_per_client;
      beast::error_code peer_ec;
      const auto peer = socket.remote_endpoint(peer_ec);
      const auto it =
          peer_ec ? shared->per_client.end() : shared->per_client.find(peer.address().to_string());
      if (it != shared->per_client.end() && it->second >= per_client) {
        // Closed at once (no 503 session, which would hold another slot): one address
        // cannot take the slots other clients need.
        shared->refusals->note("over the per-client cap of " + std::to_string(per_client));
      } else if (shared->served() < cap) {
        std::make_shared<HttpSession>(std::move(socket), shared, false)->start();
      } else if (shared->rejecting < cap) {
        shared->refusals->note("answered 503 at the cap of " + std::to_string(cap));
        std::make_shared<HttpSession>(std::move(socket), shared, true)->start();
      } else {  // far over the cap; the socket closes as it goes out of scope
        shared->refusals->note("closed far over the cap of " + std::to_string(cap));
      }
    } catch (const std::exception& e) {
      spdlog::error("http: cannot start a session: {}", e.what());
    }
    do_accept();
  }

  void stop() {
    if (shared->stopping) return;
    shared->stopping = true;
    beast::error_code ec;
    acceptor.close(ec);
    retry_timer.cancel();
    shared->refusals->stop();
    // Sessions erase themselves from the set when they end, never inside shutdown().
    const std::vector<HttpSession*> sessions(shared->sessions.begin(), shared->sessions.end());
    for (HttpSession* s : sessions) s->shutdown();
  }

  asio::io_context& ioc;
  tcp::acceptor acceptor;
  asio::steady_timer retry_timer;
  std::shared_ptr<Shared> shared;
};

HttpServer::HttpServer(asio::io_context& ioc, HttpServerOptions options)
    : ioc_(ioc), listener_(std::make_shared<Listener>(ioc, std::move(options))) {}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::route(std::string path, HttpHandler handler) {
  listener_->shared->routes[std::move(path)] = std::move(handler);
}

void HttpServer::unroute(const std::string& path) {
  listener_->shared->routes.erase(path);
}

certwatch::Result<void> HttpServer::start() {
  const auto& options = listener_->shared->options;
  const std::string where = fmt::format("{}:{}", options.address, options.port);
  beast::error_code ec;
  const auto address = asio::ip::make_address(options.address, ec);
  if (ec)
    return certwatch::make_error(fmt::format("http: invalid listen address '{}'", options.address));
  const tcp::endpoint endpoint(address, options.port);
  auto& acceptor = listener_->acceptor;
  const auto failed = [&](std::string_view step) {
    beast::error_code ignored;
    acceptor.close(ignored);
    return certwatch::make_error(fmt::format("http: cannot {} {}: {}", step, where, ec.message()));
  };
  if (acceptor.open(endpoint.protocol(), ec); ec) return failed("open a socket for");
  if (acceptor.set_option(asio::socket_base::reuse_address(true), ec); ec)
    return failed("set SO_REUSEADDR on");
  if (acceptor.bind(endpoint, ec); ec) return failed("bind");
  if (acceptor.listen(asio::socket_base::max_listen_connections, ec); ec)
    return failed("listen on");
  port_ = acceptor.local_endpoint(ec).port();
  spdlog::info("http: listening on {}:{}", options.address, port_);
  listener_->do_accept();
  return {};
}

void HttpServer::stop() {
  asio::dispatch(ioc_, [listener = listener_] { listener->stop(); });
}

}  // namespace certwatch::agent
