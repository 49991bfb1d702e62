// The agent's HTTP server (Boost.Beast), in the shape of Beast's advanced_server and Asio's
// http/server examples: one acceptor and its sessions on the caller's io_context, a routing
// table of exact paths to handlers, GET and HEAD only.
//
//   HttpServer server(ioc, {.address = "127.0.0.1", .port = 9793});
//   server.route("/metrics", [&](const HttpRequest&) {
//     return HttpResponse{200, std::string(exporters::kPrometheusContentType), registry.render()};
//   });
//   if (auto r = server.start(); !r) ...;   // binds and listens; r.error() names the address
//   ...
//   server.stop();                          // closes the acceptor and every connection
//
// Limits: every read and write has a deadline (tcp_stream::expires_after); request headers
// and bodies are capped (431 / 413, then close); at most max_connections connections are
// served at once, the next ones get 503 and are closed; methods other than GET/HEAD get 405,
// unknown paths 404, a route that throws 500. Responses of at least gzip_min_bytes are
// gzipped when the request's Accept-Encoding allows it. Connections are kept alive.
//
// Thread-safety: route() and start() are called before the io_context runs (or on its
// thread); handlers run on the io_context's thread, one at a time, so they may read state
// owned by that thread without locks. stop() may be called from any thread. The io_context
// must outlive the server's sessions: after stop(), ioc.run() returns once they are closed.
#pragma once

#include <utility>  // before Boost.Asio: std::exchange in awaitable.hpp (GCC 12, C++20)

#include <boost/asio/io_context.hpp>
#include <boost/beast/http/fields.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "exporters/gzip.h"

namespace certwatch::agent {

struct HttpServerOptions {
  std::string address = "127.0.0.1";  // an IP literal; the agent never binds 0.0.0.0 by default
  std::uint16_t port = 9793;          // 0: any free port, see HttpServer::port()
  // Deadline to receive one whole request (headers and body), including the keep-alive wait
  // before it: an idle or slow (slowloris) connection is closed when it passes.
  std::chrono::milliseconds read_timeout{15000};
  // Deadline to send one response.
  std::chrono::milliseconds write_timeout{30000};
  std::uint32_t header_limit = 8 * 1024;  // bytes of request line + headers
  std::uint64_t body_limit = 1024;        // GET and HEAD carry no body worth reading
  std::size_t max_connections = 64;
  // Connections from one peer address; more are closed at accept, so slow clients from one
  // address cannot take every slot (slowloris).
  std::size_t max_connections_per_client = 16;
  // Every read of a request must bring data within this (at most read_timeout), and the
  // request line and headers must be complete within header_timeout of the request's start.
  std::chrono::milliseconds idle_read_timeout{5000};
  std::chrono::milliseconds header_timeout{10000};
  // Refused connections are logged once, then summarised at most once per interval.
  std::chrono::milliseconds refusal_log_interval{60000};
  std::size_t gzip_min_bytes = 1024;
  int gzip_level = exporters::kGzipDefaultLevel;
};

// What a handler sees. Views into the session's request: valid during the call only.
struct HttpRequest {
  std::string_view method;  // "GET" or "HEAD"
  std::string_view target;  // as sent: "/metrics?x=1"
  std::string_view path;    // "/metrics"
  std::string_view query;   // "x=1", or empty
  const boost::beast::http::fields& headers;
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra, e.g. Cache-Control
};

// Runs on the io_context's thread. A handler answers HEAD like GET: the server drops the body.
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// True if an Accept-Encoding value allows gzip (RFC 9110 12.5.3: "gzip" or "*" with q > 0,
// unless gzip itself has q=0).
bool accepts_gzip(std::string_view accept_encoding);

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& ioc, HttpServerOptions options);
  ~HttpServer();  // stops
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Registers (or replaces) the handler of an exact path such as "/metrics".
  void route(std::string path, HttpHandler handler);
  // Removes the handler of a path (answered 404 from then on); no-op if there is none.
  void unroute(const std::string& path);
  // Opens, binds and listens, then accepts on the io_context. Fails (with the address in the
  // message) when the address is invalid or cannot be bound.
  certwatch::Result<void> start();
  // The bound port (useful with port 0); 0 before start().
  std::uint16_t port() const { return port_; }
  // Graceful stop: closes the acceptor, closes idle connections at once and the others after
  // their response is written. No io_context::stop(). Idempotent; callable from any thread.
  void stop();

  struct Shared;  // state shared with the sessions (http_session.h)
  struct Listener;

 private:
  boost::asio::io_context& ioc_;
  std::shared_ptr<Listener> listener_;
  std::uint16_t port_ = 0;
};

}  // namespace certwatch::agent
