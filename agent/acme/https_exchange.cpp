// Boost 1.74's asio/ssl compiles inline code that names OpenSSL's deprecated RSA/DH calls,
// which the build hides (OPENSSL_NO_DEPRECATED, CMakeLists.txt). This file sees them so that
// asio::ssl builds (before any OpenSSL header); nothing here calls them. Same as
// probe/tls_probe.cpp.
#undef OPENSSL_NO_DEPRECATED

#include "agent/acme/https_exchange.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#pragma GCC diagnostic pop
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <cctype>
#include <ctime>

#include "agent/acme/await_callback.h"
#include "agent/probe/resolve.h"
#include "config/address.h"
#include "pki/load/load.h"

namespace certwatch::agent::acme {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using certwatch::make_error;
using certwatch::Result;

std::string HttpsResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return {};
}

Result<HttpsUrl> parse_https_url(const std::string& url) {
  const std::string scheme = "https://";
  if (url.compare(0, scheme.size(), scheme) != 0)
    return make_error("'" + url + "' is not an https:// URL");
  const size_t host_start = scheme.size();
  const size_t path = url.find_first_of("/?", host_start);
  std::string authority =
      url.substr(host_start, path == std::string::npos ? std::string::npos : path - host_start);
  HttpsUrl out;
  out.target = path == std::string::npos ? "/" : url.substr(path);
  if (out.target[0] == '?') out.target.insert(0, "/");
  // One HOST:PORT rule for the whole agent (config/address.h), 443 when the port is left out.
  auto hp = config::parse_authority(authority, 443);
  if (!hp) return make_error("'" + url + "': " + hp.error().message, hp.error().kind);
  out.host = hp->host;
  out.port = hp->port;
  return out;
}

std::optional<int64_t> parse_retry_after(const std::string& value, int64_t now_unix) {
  if (value.empty()) return std::nullopt;
  if (value.size() <= 10 &&
      std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c); }))
    return std::stoll(value);
  std::tm tm{};
  const char* end = ::strptime(value.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return std::max<int64_t>(0, static_cast<int64_t>(::timegm(&tm)) - now_unix);
}

namespace {

using SslStream = beast::ssl_stream<beast::tcp_stream>;

class BeastTransport final : public HttpsTransport {
 public:
  BeastTransport(asio::io_context& io, asio::ssl::context ctx, std::chrono::milliseconds timeout,
                 size_t body_limit)
      : io_(io), ctx_(std::move(ctx)), timeout_(timeout), body_limit_(body_limit) {}

  ~BeastTransport() override { cancel(); }

  asio::awaitable<Result<HttpsResponse>> exchange(HttpsRequest request) override {
    if (cancelled_) co_return make_error("cancelled");
    auto url = parse_https_url(request.url);
    if (!url) co_return url.error();
    const std::string where = url->host + ":" + std::to_string(url->port);
    const auto started = std::chrono::steady_clock::now();
    const auto deadline = std::min(started + timeout_, request.deadline);
    // What the exchange was allowed, for the messages: the timeout, or less when the request's
    // deadline came first.
    const auto allowed =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - started).count();
    if (allowed <= 0) co_return make_error("no time left for " + request.method + " " + where);

    error_code ec;
    std::vector<tcp::endpoint> endpoints;
    const auto ip = asio::ip::make_address(url->host, ec);
    const bool literal = !ec;
    if (literal) {
      endpoints.emplace_back(ip, url->port);
    } else {
      std::shared_ptr<probe::PendingResolve> pending;
      const std::function<void(std::function<void(probe::Resolved)>)> resolve =
          [&](std::function<void(probe::Resolved)> cb) {
            pending = probe::async_resolve(io_, url->host, timeout_, std::move(cb));
          };
      // Parked where cancel() finds it: a cancel must not wait for a slow resolver.
      const std::function<void(asio::steady_timer*)> park = [this](asio::steady_timer* t) {
        resolving_ = t;
      };
      auto resolved = co_await await_callback<probe::Resolved>(deadline, resolve, park);
      if (!resolved) {
        if (pending) pending->abandon();
        if (cancelled_) co_return make_error("cancelled");
        co_return make_error("resolving " + url->host + " timed out after " +
                             std::to_string(allowed) + " ms");
      }
      if (!*resolved)
        co_return make_error("cannot resolve " + url->host + ": " + resolved->error().message);
      for (const auto& a : **resolved) endpoints.emplace_back(a, url->port);
    }

    if (cancelled_) co_return make_error("cancelled");  // during the resolve
    auto stream = std::make_shared<SslStream>(io_, ctx_);
    active_ = stream;
    auto fail = [&](const char* step, const error_code& e) -> certwatch::Error {
      if (cancelled_) return make_error("cancelled");
      if (e == beast::error::timeout)
        return make_error(std::string(step) + " " + where + " timed out after " +
                          std::to_string(allowed) + " ms");
      return make_error(std::string(step) + " " + where + " failed: " + e.message());
    };
    auto& tcp_layer = stream->next_layer();
    tcp_layer.expires_at(deadline);
    co_await tcp_layer.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return fail("connect to", ec);

    SSL* ssl = stream->native_handle();
    if (!literal) {  // a name: SNI and a DNS-name check
      SSL_set_tlsext_host_name(ssl, url->host.c_str());
      SSL_set1_host(ssl, url->host.c_str());
    } else {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), url->host.c_str());
    }
    stream->set_verify_mode(asio::ssl::verify_peer);
    co_await stream->async_handshake(asio::ssl::stream_base::client,
                                     asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      const long verify = SSL_get_verify_result(ssl);
      if (verify != X509_V_OK && !cancelled_)
        co_return make_error(
            "TLS handshake with " + where +
            " failed: certificate verification failed: " + X509_verify_cert_error_string(verify));
      co_return fail("TLS handshake with", ec);
    }

    http::request<http::string_body> req{request.method == "POST"   ? http::verb::post
                                         : request.method == "HEAD" ? http::verb::head
                                                                    : http::verb::get,
                                         url->target, 11};
    req.set(http::field::host, url->port == 443 ? url->host : where);
    req.set(http::field::user_agent, "certwatch/" CERTWATCH_VERSION);
    req.set(http::field::accept, "*/*");
    if (request.method == "POST") {
      req.set(http::field::content_type, request.content_type);
      req.body() = std::move(request.body);
    }
    req.prepare_payload();
    co_await http::async_write(*stream, req, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return fail("sending to", ec);

    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(body_limit_);
    parser.header_limit(16 * 1024);
    if (request.method == "HEAD") parser.skip(true);
    co_await http::async_read(*stream, buffer, parser,
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec == http::error::body_limit)
      co_return make_error("response from " + where + " is larger than " +
                           std::to_string(body_limit_) + " bytes");
    if (ec) co_return fail("reading from", ec);
    active_.reset();
    beast::error_code ignored;
    tcp_layer.socket().close(ignored);  // one exchange per connection: no TLS close_notify wait

    HttpsResponse out;
    auto& res = parser.get();
    out.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      std::string name(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      out.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    out.body = std::move(res.body());
    co_return out;
  }

  void cancel() override {
    cancelled_ = true;
    if (resolving_ != nullptr) resolving_->cancel();
    if (auto s = active_.lock()) {
      beast::error_code ignored;
      s->next_layer().socket().close(ignored);
    }
  }

 private:
  asio::io_context& io_;
  asio::ssl::context ctx_;
  std::chrono::milliseconds timeout_;
  size_t body_limit_;
  std::weak_ptr<SslStream> active_;
  asio::steady_timer* resolving_ = nullptr;  // the resolve being awaited, if any
  bool cancelled_ = false;
};

}  // namespace

Result<std::unique_ptr<HttpsTransport>> HttpsTransport::make(
    asio::io_context& io, const std::vector<std::filesystem::path>& trust,
    std::chrono::milliseconds timeout, size_t body_limit) {
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  std::vector<std::filesystem::path> files = trust;
  if (files.empty()) files.push_back(pki::system_trust_file());
  for (const auto& f : files) {
    if (SSL_CTX_load_verify_locations(ctx.native_handle(), f.c_str(), nullptr) != 1)
      return make_error(
          "cannot load the ACME server trust " + f.string() + ": " + pki::drain_errors(),
          certwatch::ErrorKind::io);
  }
  return std::unique_ptr<HttpsTransport>(
      std::make_unique<BeastTransport>(io, std::move(ctx), timeout, body_limit));
}

}  // namespace certwatch::agent::acme
