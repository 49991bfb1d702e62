// One HTTP connection of HttpServer (advanced_server's http_session): read a request with a
// deadline and limits, answer it through the routing table, keep the connection alive or
// close it. Internal to http_server.cpp and http_session.cpp.
//
// Ownership: a session owns itself through shared_from_this() held by its pending operation;
// it ends when the last operation completes without starting another. It registers in
// Shared::sessions while alive so stop() can reach it. Everything runs on the io_context's
// thread.
#pragma once

#include <utility>  // before Boost.Asio (see http_server.h)

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "agent/server/http_refusals.h"
#include "agent/server/http_server.h"

namespace certwatch::agent {

class HttpSession;

struct HttpServer::Shared {
  explicit Shared(HttpServerOptions o) : options(std::move(o)) {}
  const HttpServerOptions options;
  std::unordered_map<std::string, HttpHandler> routes;
  std::unordered_set<HttpSession*> sessions;                // every live connection, for stop()
  std::size_t rejecting = 0;                                // of which being answered 503
  std::unordered_map<std::string, std::size_t> per_client;  // live connections by peer address
  std::shared_ptr<RefusalLog> refusals;                     // set by the listener
  std::size_t served() const { return sessions.size() - rejecting; }
  bool stopping = false;
};

// The one error-reporting helper of the HTTP code: quiet for what ends connections normally
// (peer closed, timeouts, our own cancellation), a warning for the rest.
void http_fail(boost::beast::error_code ec, std::string_view what);

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  // `reject`: the server is at max_connections; read one request and answer 503.
  HttpSession(boost::asio::ip::tcp::socket&& socket, std::shared_ptr<HttpServer::Shared> shared,
              bool reject);
  ~HttpSession();
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  void start();
  // Server stop: close now if waiting for a request, else after the response in flight.
  void shutdown();

 private:
  using Response = boost::beast::http::response<boost::beast::http::string_body>;

  void do_read();
  void read_more();
  void on_read(boost::beast::error_code ec);
  Response handle(const boost::beast::http::request<boost::beast::http::string_body>& req);
  void send(Response&& res);
  void on_write(boost::beast::error_code ec);
  void linger_close();
  void drain();
  void close();

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  Response res_;  // the response being written; one at a time (no pipelining)
  std::shared_ptr<HttpServer::Shared> shared_;
  const bool reject_;
  std::string client_;  // peer address, the key of Shared::per_client
  std::chrono::steady_clock::time_point request_start_;
  bool keep_alive_ = false;  // of res_, kept once res_ is released
  bool writing_ = false;
  bool closed_ = false;
};

}  // namespace certwatch::agent
