#include "agent/server/http_session.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <exception>
#include <vector>

namespace certwatch::agent {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr std::string_view kServerName = "certwatch/" CERTWATCH_VERSION;

// Beast 1.74 speaks boost::string_view.
std::string_view sv(beast::string_view s) {
  return {s.data(), s.size()};
}

bool is_http_error(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category();
}

HttpResponse plain(unsigned status, std::string body,
                   std::vector<std::pair<std::string, std::string>> headers = {}) {
  return {status, "text/plain; charset=utf-8", std::move(body), std::move(headers)};
}

}  // namespace

void http_fail(beast::error_code ec, std::string_view what) {
  if (ec == asio::error::operation_aborted) return;  // our own cancel or close
  // Peers that leave, stall or send garbage are routine for a listening socket and must not
  // flood the journal.
  if (is_http_error(ec) || ec == beast::error::timeout || ec == asio::error::connection_reset ||
      ec == asio::error::broken_pipe || ec == asio::error::eof) {
    spdlog::debug("http: {}: {}", what, ec.message());
    return;
  }
  spdlog::warn("http: {}: {}", what, ec.message());
}

HttpSession::HttpSession(asio::ip::tcp::socket&& socket, std::shared_ptr<HttpServer::Shared> shared,
                         bool reject)
    : stream_(std::move(socket)),
      // Room for one maximal request; the parser's limits are what bound it.
      buffer_(shared->options.header_limit + shared->options.body_limit + 4096),
      shared_(std::move(shared)),
      reject_(reject) {
  shared_->sessions.insert(this);
  if (reject_) ++shared_->rejecting;
  beast::error_code ec;
  const auto peer = stream_.socket().remote_endpoint(ec);
  client_ = ec ? std::string("?") : peer.address().to_string();
  ++shared_->per_client[client_];
}

HttpSession::~HttpSession() {
  shared_->sessions.erase(this);
  if (reject_) --shared_->rejecting;
  if (auto it = shared_->per_client.find(client_);
      it != shared_->per_client.end() && --it->second == 0)
    shared_->per_client.erase(it);
}

void HttpSession::start() {
  // Run the first read from the io_context even when start() is called elsewhere.
  asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->do_read(); });
}

void HttpSession::do_read() {
  if (closed_) return;
  if (shared_->stopping) return close();
  parser_.emplace();
  parser_->header_limit(shared_->options.header_limit);
  parser_->body_limit(shared_->options.body_limit);
  request_start_ = std::chrono::steady_clock::now();
  read_more();
}

// One read of the request at a time, each with its own deadline: every read must bring data
// within idle_read_timeout, the headers must be complete within header_timeout and the whole
// request within read_timeout of the request's start (the keep-alive wait included). A client
// trickling a byte now and then is cut off at the header deadline (slowloris).
void HttpSession::read_more() {
  const auto& o = shared_->options;
  const auto whole =
      parser_->is_header_done() ? o.read_timeout : std::min(o.header_timeout, o.read_timeout);
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      request_start_ + whole - std::chrono::steady_clock::now());
  if (left.count() <= 0) return on_read(beast::error::timeout);
  stream_.expires_after(std::min({left, o.idle_read_timeout, o.read_timeout}));
  http::async_read_some(stream_, buffer_, *parser_,
                        [self = shared_from_this()](beast::error_code ec, std::size_t) {
                          if (self->closed_) return;
                          if (!ec && !self->parser_->is_done()) return self->read_more();
                          if (ec == http::error::need_more) return self->read_more();
                          self->on_read(ec);
                        });
}

void HttpSession::on_read(beast::error_code ec) {
  if (closed_) return;
  // Nothing may escape into Asio: anything unexpected (bad_alloc) closes this connection.
  try {
    if (ec) {
      http_fail(ec, "read");
      Response res;
      if (ec == http::error::header_limit || ec == http::error::buffer_overflow)
        res.result(http::status::request_header_fields_too_large);
      else if (ec == http::error::body_limit)
        res.result(http::status::payload_too_large);
      else if (is_http_error(ec) && ec != http::error::end_of_stream &&
               ec != http::error::partial_message)
        res.result(http::status::bad_request);
      else
        return close();
      res.version(11);
      res.set(http::field::server, beast::string_view(kServerName.data(), kServerName.size()));
      res.set(http::field::content_type, "text/plain; charset=utf-8");
      res.body() = std::string(res.reason()) + "\n";
      res.keep_alive(false);
      res.prepare_payload();
      return send(std::move(res));
    }
    send(handle(parser_->get()));
  } catch (const std::exception& e) {
    spdlog::error("http: dropping a connection: {}", e.what());
    close();
  }
}

HttpSession::Response HttpSession::handle(const http::request<http::string_body>& req) {
  const auto& options = shared_->options;
  const std::string_view target = sv(req.target());
  const std::size_t q = target.find('?');
  const std::string_view path = target.substr(0, q);
  const std::string_view query = q == std::string_view::npos ? "" : target.substr(q + 1);
  const bool head = req.method() == http::verb::head;

  HttpResponse out;
  if (reject_) {
    out = plain(503, "too many connections\n", {{"Retry-After", "1"}});
  } else if (req.method() != http::verb::get && !head) {
    // Before the path: CONNECT's authority and OPTIONS' "*" are no paths, and every method
    // but GET and HEAD gets the same 405.
    out = plain(405, "method not allowed\n", {{"Allow", "GET, HEAD"}});
  } else if (auto route = shared_->routes.find(std::string(path)); route == shared_->routes.end()) {
    out = plain(404, "not found\n");
  } else {
    const HttpRequest request{sv(req.method_string()), target, path, query, req.base()};
    try {
      out = route->second(request);
    } catch (const std::exception& e) {
      spdlog::error("http: handler of {} failed: {}", path, e.what());
      out = plain(500, "internal server error\n");
    } catch (...) {
      spdlog::error("http: handler of {} failed", path);
      out = plain(500, "internal server error\n");
    }
  }

  Response res{static_cast<http::status>(out.status), req.version()};
  res.set(http::field::server, beast::string_view(kServerName.data(), kServerName.size()));
  res.set(http::field::content_type, out.content_type);
  bool encoded = false;
  for (auto& [name, value] : out.headers) {
    res.set(name, value);
    encoded = encoded || beast::iequals(name, "Content-Encoding");
  }
  if (!encoded && out.body.size() >= options.gzip_min_bytes) {
    res.set(http::field::vary, "Accept-Encoding");
    if (accepts_gzip(sv(req[http::field::accept_encoding]))) {
      if (auto gz = exporters::gzip_compress(out.body, options.gzip_level)) {
        out.body = std::move(*gz);
        res.set(http::field::content_encoding, "gzip");
      } else {
        spdlog::warn("http: {}; sending {} uncompressed", gz.error().message, path);
      }
    }
  }
  res.keep_alive(req.keep_alive() && !reject_ && !shared_->stopping);
  if (head) {
    res.content_length(out.body.size());  // what GET would send; the body stays empty
  } else {
    res.body() = std::move(out.body);
    res.prepare_payload();
  }
  spdlog::debug("http: {} {} -> {} ({} bytes)", sv(req.method_string()), target, out.status,
                head ? 0 : res.body().size());
  return res;
}

void HttpSession::send(Response&& res) {
  res_ = std::move(res);
  keep_alive_ = res_.keep_alive();
  writing_ = true;
  stream_.expires_after(shared_->options.write_timeout);
  http::async_write(stream_, res_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
    self->on_write(ec);
  });
}

void HttpSession::on_write(beast::error_code ec) {
  writing_ = false;
  if (ec) {
    http_fail(ec, "write");
    return close();
  }
  res_ = {};  // free the body before waiting for the next request
  if (!keep_alive_ || shared_->stopping) return linger_close();
  do_read();
}

// Closing a socket with unread input makes the kernel send RST, and the client may lose the
// response it has not read yet (a 431 to an oversized request, say). So send FIN first and
// drain what the client still sends, for a short bounded time, before closing.
void HttpSession::linger_close() {
  if (closed_) return;
  beast::error_code ec;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  if (ec) return close();
  stream_.expires_after(
      std::min<std::chrono::milliseconds>(shared_->options.read_timeout, std::chrono::seconds(1)));
  drain();
}

void HttpSession::drain() {
  buffer_.clear();
  stream_.async_read_some(buffer_.prepare(4096),
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                            if (ec || self->closed_) return self->close();
                            self->drain();
                          });
}

void HttpSession::shutdown() {
  if (!writing_) close();  // a pending read completes with operation_aborted
}

void HttpSession::close() {
  if (closed_) return;
  closed_ = true;
  stream_.close();
}

}  // namespace certwatch::agent
