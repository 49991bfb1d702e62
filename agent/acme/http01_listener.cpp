#include "agent/acme/http01_listener.h"

#include <spdlog/spdlog.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <map>
#include <optional>

namespace certwatch::agent::acme {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {
constexpr std::string_view kPrefix = "/.well-known/acme-challenge/";
}  // namespace

struct Http01Listener::State {
  State(asio::io_context& io, Http01Limits l) : acceptor(io), limits(l) {}
  // token -> (key authorization, how many presents of it are outstanding)
  std::map<std::string, std::pair<std::string, int>> tokens;
  tcp::acceptor acceptor;
  Http01Limits limits;
};

namespace {

// One connection: one request, one answer, then closed.
class Http01Session : public std::enable_shared_from_this<Http01Session> {
 public:
  Http01Session(tcp::socket socket, std::shared_ptr<Http01Listener::State> state)
      : stream_(std::move(socket)), state_(std::move(state)) {}

  void start() {
    parser_.header_limit(state_->limits.max_header_bytes);
    parser_.body_limit(0);
    stream_.expires_after(state_->limits.exchange_timeout);
    http::async_read(
        stream_, buffer_, parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

 private:
  void on_read(beast::error_code ec) {
    if (ec) {
      spdlog::debug("acme http-01: dropping a request: {}", ec.message());
      return close();
    }
    const auto& req = parser_.get();
    const std::string_view target(req.target().data(), req.target().size());
    res_.version(11);
    res_.keep_alive(false);
    res_.set(http::field::content_type, "text/plain");
    const bool get = req.method() == http::verb::get || req.method() == http::verb::head;
    const auto it = target.starts_with(kPrefix)
                        ? state_->tokens.find(std::string(target.substr(kPrefix.size())))
                        : state_->tokens.end();
    if (get && it != state_->tokens.end()) {
      res_.result(http::status::ok);
      if (req.method() == http::verb::get) res_.body() = it->second.first;
      // The token only: the key authorization is a credential while the order is pending.
      spdlog::info("acme http-01: answered token {} for {}", it->first, peer());
    } else {
      res_.result(http::status::not_found);
      res_.body() = "not found\n";
    }
    res_.prepare_payload();
    http::async_write(stream_, res_, [self = shared_from_this()](beast::error_code, std::size_t) {
      self->close();
    });
  }

  std::string peer() {
    beast::error_code ec;
    const auto ep = stream_.socket().remote_endpoint(ec);
    return ec ? "?" : ep.address().to_string();
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_{8192};
  http::request_parser<http::empty_body> parser_;
  http::response<http::string_body> res_;
  std::shared_ptr<Http01Listener::State> state_;
};

void accept_next(const std::shared_ptr<Http01Listener::State>& state) {
  state->acceptor.async_accept([state](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !state->acceptor.is_open())
      return;  // closed by cleanup
    if (!ec) std::make_shared<Http01Session>(std::move(socket), state)->start();
    accept_next(state);
  });
}

pki::Result<void> open_acceptor(tcp::acceptor& acceptor, const config::ListenAddress& address) {
  beast::error_code ec;
  const auto ip = asio::ip::make_address(address.host, ec);
  if (ec)
    return pki::make_error("http-01 listener: bad address " + address.host + ": " + ec.message());
  const tcp::endpoint ep(ip, address.port);
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    beast::error_code ignored;
    acceptor.close(ignored);
    return pki::make_error("http-01 listener: cannot listen on " + address.to_string() + ": " +
                           ec.message());
  }
  return {};
}

}  // namespace

Http01Listener::Http01Listener(asio::io_context& io, config::ListenAddress address,
                               Http01Limits limits)
    : io_(io), address_(std::move(address)), state_(std::make_shared<State>(io, limits)) {}

Http01Listener::~Http01Listener() {
  beast::error_code ec;
  state_->acceptor.close(ec);
}

void Http01Listener::present(const Challenge& challenge, SolverDone done) {
  pki::Result<void> result;
  if (!state_->acceptor.is_open()) {
    result = open_acceptor(state_->acceptor, address_);
    if (result) {
      spdlog::info("acme http-01: listening on {} while challenges are pending",
                   address_.to_string());
      accept_next(state_);
    }
  }
  if (result) {
    auto& slot = state_->tokens[challenge.token];
    slot.first = challenge.key_authorization;
    ++slot.second;
  }
  asio::post(io_, [done = std::move(done), result]() mutable { done(result); });
}

void Http01Listener::cleanup(const Challenge& challenge, SolverDone done) {
  if (auto it = state_->tokens.find(challenge.token);
      it != state_->tokens.end() && --it->second.second <= 0)
    state_->tokens.erase(it);
  if (state_->tokens.empty() && state_->acceptor.is_open()) {
    beast::error_code ec;
    state_->acceptor.close(ec);
    spdlog::info("acme http-01: no challenge pending, {} closed", address_.to_string());
  }
  asio::post(io_, [done = std::move(done)]() mutable { done(pki::Result<void>()); });
}

std::string Http01Listener::describe() const {
  return "http-01 listener on " + address_.to_string();
}

uint16_t Http01Listener::bound_port() const {
  beast::error_code ec;
  if (!state_->acceptor.is_open()) return 0;
  const auto ep = state_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

}  // namespace certwatch::agent::acme
