#include "agent/acme/http01_listener.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "agent/server/http_server.h"

namespace certwatch::agent::acme {

namespace asio = boost::asio;

namespace {

constexpr std::string_view kPrefix = "/.well-known/acme-challenge/";

HttpServerOptions server_options(const config::ListenAddress& address, const Http01Limits& limits) {
  HttpServerOptions o;
  o.address = address.host;
  o.port = address.port;
  // One deadline for every step of an exchange: a validation request is one short GET.
  o.read_timeout = o.idle_read_timeout = o.header_timeout = o.write_timeout =
      limits.exchange_timeout;
  o.header_limit = limits.max_header_bytes;
  o.body_limit = 0;
  return o;
}

}  // namespace

Http01Listener::Http01Listener(asio::io_context& io, config::ListenAddress address,
                               Http01Limits limits)
    : io_(io), address_(std::move(address)), limits_(limits) {}

Http01Listener::~Http01Listener() = default;  // ~HttpServer closes the port and its connections

void Http01Listener::present(const Challenge& challenge, SolverDone done) {
  certwatch::Result<void> result;
  if (!server_) {
    auto server = std::make_unique<HttpServer>(io_, server_options(address_, limits_));
    result = server->start();
    if (result) {
      spdlog::info("acme http-01: listening on {} while challenges are pending",
                   address_.to_string());
      server_ = std::move(server);
    } else {
      result = certwatch::make_error("http-01 listener: " + result.error().message);
    }
  }
  if (result) {
    ++pending_[challenge.token];
    server_->route(
        std::string(kPrefix) + challenge.token,
        [token = challenge.token, answer = challenge.key_authorization](const HttpRequest&) {
          // The token only: the key authorization is a credential while the order
          // is pending.
          spdlog::info("acme http-01: answered token {}", token);
          return HttpResponse{200, "text/plain", answer, {}};
        });
  }
  asio::post(io_, [done = std::move(done), result]() mutable { done(result); });
}

void Http01Listener::cleanup(const Challenge& challenge, SolverDone done) {
  if (auto it = pending_.find(challenge.token); it != pending_.end() && --it->second <= 0) {
    pending_.erase(it);
    if (server_) server_->unroute(std::string(kPrefix) + challenge.token);
  }
  if (pending_.empty() && server_) {
    server_.reset();
    spdlog::info("acme http-01: no challenge pending, {} closed", address_.to_string());
  }
  asio::post(io_, [done = std::move(done)]() mutable { done(certwatch::Result<void>()); });
}

std::string Http01Listener::describe() const {
  return "http-01 listener on " + address_.to_string();
}

uint16_t Http01Listener::bound_port() const {
  return server_ ? server_->port() : 0;
}

}  // namespace certwatch::agent::acme
