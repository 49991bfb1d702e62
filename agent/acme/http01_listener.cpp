#include "agent/acme/http01_listener.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <map>

#include "agent/http/http_server.h"

namespace certwatch::agent::acme {

namespace asio = boost::asio;

namespace {

constexpr std::string_view kPrefix = "/.well-known/acme-challenge/";

HttpServerOptions server_options(const config::ListenAddress& address, const Http01Limits& limits) {
  HttpServerOptions o;
  o.address = address.host;
  o.port = address.port;
  // One deadline for every step of an exchange: a validation request is one short GET.
  o.read_timeout = o.idle_read_timeout = o.header_timeout = o.write_timeout = limits.exchange_timeout;
  o.header_limit = limits.max_header_bytes;
  o.body_limit = 0;
  return o;
}

}  // namespace

// Tokens presented and not yet cleaned up, each with its key authorization and the number of
// presents outstanding; the server exists while there is at least one.
struct Http01Listener::State {
  std::map<std::string, std::pair<std::string, int>> tokens;
  std::unique_ptr<HttpServer> server;
};

Http01Listener::Http01Listener(asio::io_context& io, config::ListenAddress address, Http01Limits limits)
    : io_(io), address_(std::move(address)), limits_(limits), state_(std::make_shared<State>()) {}

Http01Listener::~Http01Listener() = default;  // ~HttpServer closes the port and its connections

void Http01Listener::present(const Challenge& challenge, SolverDone done) {
  pki::Result<void> result;
  if (!state_->server) {
    auto server = std::make_unique<HttpServer>(io_, server_options(address_, limits_));
    result = server->start();
    if (result) {
      spdlog::info("acme http-01: listening on {} while challenges are pending", address_.to_string());
      state_->server = std::move(server);
    } else {
      result = pki::make_error("http-01 listener: " + result.error().message);
    }
  }
  if (result) {
    auto& slot = state_->tokens[challenge.token];
    slot.first = challenge.key_authorization;
    ++slot.second;
    state_->server->route(std::string(kPrefix) + challenge.token,
                          [token = challenge.token, answer = challenge.key_authorization](const HttpRequest&) {
                            // The token only: the key authorization is a credential while the
                            // order is pending.
                            spdlog::info("acme http-01: answered token {}", token);
                            return HttpResponse{200, "text/plain", answer, {}};
                          });
  }
  asio::post(io_, [done = std::move(done), result]() mutable { done(result); });
}

void Http01Listener::cleanup(const Challenge& challenge, SolverDone done) {
  if (auto it = state_->tokens.find(challenge.token); it != state_->tokens.end() && --it->second.second <= 0) {
    state_->tokens.erase(it);
    if (state_->server) state_->server->unroute(std::string(kPrefix) + challenge.token);
  }
  if (state_->tokens.empty() && state_->server) {
    state_->server.reset();
    spdlog::info("acme http-01: no challenge pending, {} closed", address_.to_string());
  }
  asio::post(io_, [done = std::move(done)]() mutable { done(pki::Result<void>()); });
}

std::string Http01Listener::describe() const { return "http-01 listener on " + address_.to_string(); }

uint16_t Http01Listener::bound_port() const { return state_->server ? state_->server->port() : 0; }

}  // namespace certwatch::agent::acme
