// HttpServer over real sockets: the server runs on an io_context in a thread, the test talks
// raw HTTP/1.1 through a blocking POSIX socket with a receive timeout, so every wait is bounded.
#include "agent/server/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cctype>
#include <chrono>
#include <future>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <sstream>

#include "exporters/gzip.h"
#include "exporters/prometheus/metrics.h"
#include "support/fixtures.h"

using namespace certwatch::agent;
using namespace std::chrono_literals;

namespace {

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

// One client connection with a receive timeout on every read.
class Client {
 public:
  explicit Client(std::uint16_t port, std::chrono::milliseconds timeout = 3s) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    set_timeout(timeout);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Client() { close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  void set_timeout(std::chrono::milliseconds t) {
    timeval tv{static_cast<time_t>(t.count() / 1000),
               static_cast<suseconds_t>((t.count() % 1000) * 1000)};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  bool send(const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<std::size_t>(n);
    }
    return true;
  }
  // Reads one response: headers, then Content-Length bytes of body (none for HEAD).
  std::optional<Reply> read_response(bool head = false) {
    std::size_t end;
    while ((end = in_.find("\r\n\r\n")) == std::string::npos)
      if (!fill()) return std::nullopt;
    Reply r;
    const std::string head_text = in_.substr(0, end);
    in_.erase(0, end + 4);
    std::size_t line_end = head_text.find("\r\n");
    const std::string status_line = head_text.substr(0, line_end);
    if (status_line.size() < 12) return std::nullopt;
    r.status = std::stoi(status_line.substr(9, 3));
    while (line_end != std::string::npos) {
      const std::size_t start = line_end + 2;
      line_end = head_text.find("\r\n", start);
      const std::string line = head_text.substr(start, line_end - start);
      const std::size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
    }
    const std::size_t length = head ? 0 : std::stoul(r.header("content-length").empty()
                                                         ? "0"
                                                         : r.header("content-length"));
    while (in_.size() < length)
      if (!fill()) return std::nullopt;
    r.body = in_.substr(0, length);
    in_.erase(0, length);
    return r;
  }
  // True when the server closes the connection (EOF or reset) before the receive timeout.
  bool wait_closed() {
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET;
    }
  }

 private:
  bool fill() {
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    in_.append(buf, static_cast<std::size_t>(n));
    return true;
  }
  int fd_ = -1;
  bool connected_ = false;
  std::string in_;
};

std::string get(const std::string& path, const std::string& extra_headers = "",
                const std::string& method = "GET") {
  return method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra_headers + "\r\n";
}

// A server with /metrics (a real registry), /small, /boom (throws) on its own io thread.
class TestServer {
 public:
  explicit TestServer(HttpServerOptions options = {}) {
    options.port = 0;
    server_.emplace(ioc_, options);
    constexpr std::string_view kLabels[] = {"target", "index"};
    auto& family =
        *registry_.add_gauge("certwatch_test_not_after_timestamp_seconds", "Test.", kLabels)
             .value();
    for (int i = 0; i < 200; ++i)
      family.add({"/etc/ssl/cert-" + std::to_string(i) + ".pem", "0"}).set(1700000000 + i);
    server_->route("/metrics", [this](const HttpRequest&) {
      return HttpResponse{200, std::string(certwatch::exporters::kPrometheusContentType),
                          registry_.render(), {}};
    });
    server_->route("/small", [](const HttpRequest& req) {
      return HttpResponse{200, "text/plain; charset=utf-8",
                          "path=" + std::string(req.path) + " query=" + std::string(req.query) +
                              " method=" + std::string(req.method),
                          {{"Cache-Control", "no-store"}}};
    });
    server_->route("/boom", [](const HttpRequest&) -> HttpResponse {
      throw std::runtime_error("handler failure");
    });
    auto started = server_->start();
    REQUIRE(started.ok());
    port_ = server_->port();
    REQUIRE(port_ != 0);
    thread_ = std::thread([this] {
      ioc_.run();
      done_.set_value();
    });
  }
  ~TestServer() { stop_and_join(5s); }

  std::uint16_t port() const { return port_; }
  const certwatch::exporters::Registry& registry() const { return registry_; }

  // Stops the server and reports whether the io thread finished by itself (no work left)
  // within `timeout`. A hung server is then forced so the test binary does not hang too.
  bool stop_and_join(std::chrono::milliseconds timeout) {
    if (!thread_.joinable()) return true;
    server_->stop();
    const bool finished = done_future_.wait_for(timeout) == std::future_status::ready;
    if (!finished) ioc_.stop();
    thread_.join();
    return finished;
  }

 private:
  boost::asio::io_context ioc_;
  certwatch::exporters::Registry registry_;
  std::optional<HttpServer> server_;
  std::uint16_t port_ = 0;
  std::promise<void> done_;
  std::future<void> done_future_ = done_.get_future();
  std::thread thread_;
};

}  // namespace

TEST_CASE("accept-encoding parsing", "[agent][http]") {
  CHECK(accepts_gzip("gzip"));
  CHECK(accepts_gzip("deflate, GZIP;q=0.5"));
  CHECK(accepts_gzip("br;q=1.0, gzip;q=0.8, *;q=0.1"));
  CHECK(accepts_gzip("*"));
  CHECK(accepts_gzip("x-gzip"));
  CHECK_FALSE(accepts_gzip(""));
  CHECK_FALSE(accepts_gzip("identity"));
  CHECK_FALSE(accepts_gzip("gzip;q=0"));
  CHECK_FALSE(accepts_gzip("*, gzip;q=0"));
  CHECK_FALSE(accepts_gzip("*;q=0"));
  CHECK_FALSE(accepts_gzip("gzipped"));
}

TEST_CASE("GET and HEAD /metrics over keep-alive", "[agent][http]") {
  TestServer srv;
  Client c(srv.port());
  REQUIRE(c.connected());
  REQUIRE(c.send(get("/metrics")));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->header("content-type") == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(r->header("content-encoding").empty());
  CHECK(r->body == srv.registry().render());
  CHECK(r->body.find("certwatch_test_not_after_timestamp_seconds{target=\"/etc/ssl/cert-7.pem\"") !=
        std::string::npos);

  // Same connection: HEAD has the headers of GET and no body; then a GET with a query.
  REQUIRE(c.send(get("/metrics", "", "HEAD")));
  auto h = c.read_response(true);
  REQUIRE(h);
  CHECK(h->status == 200);
  CHECK(h->header("content-length") == std::to_string(r->body.size()));
  REQUIRE(c.send(get("/small?x=1&y")));
  auto s = c.read_response();
  REQUIRE(s);
  CHECK(s->body == "path=/small query=x=1&y method=GET");  // and no HEAD body in between
  CHECK(s->header("cache-control") == "no-store");
  CHECK(s->header("server").rfind("certwatch/", 0) == 0);

  // Connection: close is honoured.
  REQUIRE(c.send(get("/small", "Connection: close\r\n")));
  REQUIRE(c.read_response());
  CHECK(c.wait_closed());
}

TEST_CASE("gzip when asked and the body is large enough", "[agent][http]") {
  TestServer srv;
  Client c(srv.port());
  REQUIRE(c.send(get("/metrics", "Accept-Encoding: gzip, deflate\r\n")));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->header("content-encoding") == "gzip");
  CHECK(r->header("vary") == "Accept-Encoding");
  auto plain = certwatch::exporters::gzip_decompress(r->body);
  REQUIRE(plain.ok());
  CHECK(*plain == srv.registry().render());
  CHECK(r->body.size() < plain->size());

  // Refused explicitly: identity.
  REQUIRE(c.send(get("/metrics", "Accept-Encoding: gzip;q=0\r\n")));
  auto identity = c.read_response();
  REQUIRE(identity);
  CHECK(identity->header("content-encoding").empty());
  CHECK(identity->body == srv.registry().render());

  // Under ~1 KiB: not worth compressing.
  REQUIRE(c.send(get("/small", "Accept-Encoding: gzip\r\n")));
  auto small = c.read_response();
  REQUIRE(small);
  CHECK(small->header("content-encoding").empty());
  CHECK(small->body.rfind("path=/small", 0) == 0);
}

TEST_CASE("404, 405 and a throwing route's 500 keep the server serving", "[agent][http]") {
  TestServer srv;
  Client c(srv.port());
  REQUIRE(c.send(get("/nope")));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 404);
  REQUIRE(c.send(get("/metrics/extra")));  // exact paths only
  CHECK(c.read_response()->status == 404);

  REQUIRE(c.send("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"));
  auto post = c.read_response();
  REQUIRE(post);
  CHECK(post->status == 405);
  CHECK(post->header("allow") == "GET, HEAD");
  REQUIRE(c.send(get("/metrics", "", "DELETE")));
  CHECK(c.read_response()->status == 405);

  REQUIRE(c.send(get("/boom")));
  auto boom = c.read_response();
  REQUIRE(boom);
  CHECK(boom->status == 500);
  CHECK(boom->body.find("handler failure") == std::string::npos);  // no internals leak

  REQUIRE(c.send(get("/small")));
  auto after = c.read_response();
  REQUIRE(after);
  CHECK(after->status == 200);
}

TEST_CASE("oversized headers and bodies are rejected and the connection closed",
          "[agent][http]") {
  HttpServerOptions options;
  options.header_limit = 4096;
  options.body_limit = 64;
  TestServer srv(options);
  {
    Client c(srv.port());
    REQUIRE(c.send(get("/metrics", "X-Big: " + std::string(20000, 'a') + "\r\n")));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 431);
    CHECK(r->body == "Request Header Fields Too Large\n");
    CHECK(r->header("connection") == "close");
    CHECK(c.wait_closed());
  }
  {
    Client c(srv.port());
    REQUIRE(c.send("GET /small HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" +
                   std::string(1000, 'b')));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 413);
    CHECK(r->body == "Payload Too Large\n");
    CHECK(c.wait_closed());
  }
  {
    Client c(srv.port());
    REQUIRE(c.send("NOT HTTP AT ALL\r\n\r\n"));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 400);
    CHECK(c.wait_closed());
  }
  // Headers just under the limit are fine.
  Client ok(srv.port());
  REQUIRE(ok.send(get("/small", "X-Fits: " + std::string(3000, 'a') + "\r\n")));
  auto r = ok.read_response();
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("idle and slow connections are closed by the read deadline", "[agent][http]") {
  HttpServerOptions options;
  options.read_timeout = 300ms;
  TestServer srv(options);

  Client idle(srv.port());
  REQUIRE(idle.connected());
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(idle.wait_closed());
  const auto waited = std::chrono::steady_clock::now() - t0;
  CHECK(waited >= 250ms);
  CHECK(waited < 2500ms);

  // Slowloris: a byte every 100 ms never completes a request within the deadline.
  Client slow(srv.port());
  const std::string request = get("/small");
  bool closed_early = false;
  const auto t1 = std::chrono::steady_clock::now();
  for (char ch : request) {
    if (!slow.send(std::string(1, ch))) {
      closed_early = true;
      break;
    }
    std::this_thread::sleep_for(100ms);
    if (std::chrono::steady_clock::now() - t1 > 1500ms) break;
  }
  CHECK((closed_early || slow.wait_closed()));
  CHECK(std::chrono::steady_clock::now() - t1 < 3s);

  // An idle keep-alive connection after a response is closed too.
  Client keep(srv.port());
  REQUIRE(keep.send(get("/small")));
  REQUIRE(keep.read_response());
  CHECK(keep.wait_closed());
}

TEST_CASE("connections over the cap get 503 until one closes", "[agent][http]") {
  HttpServerOptions options;
  options.max_connections = 2;
  TestServer srv(options);
  auto a = std::make_unique<Client>(srv.port());
  Client b(srv.port());
  // A served request proves each connection is accepted and counted.
  REQUIRE(a->send(get("/small")));
  REQUIRE(a->read_response()->status == 200);
  REQUIRE(b.send(get("/small")));
  REQUIRE(b.read_response()->status == 200);

  Client c(srv.port());
  REQUIRE(c.send(get("/small")));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 503);
  CHECK(r->header("retry-after") == "1");
  CHECK(c.wait_closed());

  // The two served connections still work.
  REQUIRE(b.send(get("/small")));
  CHECK(b.read_response()->status == 200);

  // Once one closes, a new connection is served again.
  a.reset();
  CHECK(testing::eventually(
      [&] {
        Client d(srv.port());
        if (!d.send(get("/small", "Connection: close\r\n"))) return false;
        auto dr = d.read_response();
        return dr && dr->status == 200;
      },
      3s));
}

TEST_CASE("stop closes the acceptor and every connection, the io thread ends",
          "[agent][http]") {
  HttpServerOptions options;
  options.max_connections = 2;
  options.read_timeout = 20s;  // longer than the test: only stop() can end these connections
  TestServer srv(options);
  Client idle(srv.port());
  REQUIRE(idle.send(get("/small")));
  REQUIRE(idle.read_response());  // now an idle keep-alive connection
  Client fresh(srv.port());       // accepted, no request yet
  REQUIRE(fresh.connected());
  REQUIRE(fresh.send("GET /sm"));  // half a request: the session is reading
  Client extra(srv.port());        // over the cap: a 503 session waiting for its request
  REQUIRE(extra.connected());
  const auto port = srv.port();
  testing::sleep_ms(100);  // let the loop accept them

  const auto t0 = std::chrono::steady_clock::now();
  CHECK(srv.stop_and_join(3s));  // finished by itself: nothing left running
  CHECK(std::chrono::steady_clock::now() - t0 < 3s);
  CHECK(idle.wait_closed());
  CHECK(fresh.wait_closed());
  CHECK(extra.wait_closed());
  Client late(port);
  CHECK_FALSE(late.connected());
}

TEST_CASE("start fails with the address when the port is taken", "[agent][http]") {
  TestServer first;
  boost::asio::io_context ioc;
  HttpServerOptions options;
  options.port = first.port();
  HttpServer second(ioc, options);
  auto r = second.start();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("127.0.0.1:" + std::to_string(first.port())) != std::string::npos);

  options.address = "not-an-ip";
  HttpServer third(ioc, options);
  auto bad = third.start();
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("not-an-ip") != std::string::npos);
}

namespace {

// A raw connection from a chosen loopback source address (127.0.0.2 is another client).
int connect_from(const char* source, std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in src{};
  src.sin_family = AF_INET;
  ::inet_pton(AF_INET, source, &src.sin_addr);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  dst.sin_port = htons(port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

TEST_CASE("200 slow connections from one address do not delay another client's scrape",
          "[agent][http][hostile]") {
  // Every warning the server logs, to count refusal lines.
  std::ostringstream log;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
  spdlog::default_logger()->sinks().push_back(sink);
  HttpServerOptions options;
  options.read_timeout = 10s;  // the agent's default request_timeout
  auto server = std::make_unique<TestServer>(options);
  TestServer& srv = *server;
  std::vector<int> slow;
  for (int i = 0; i < 200; ++i) {
    const int fd = connect_from("127.0.0.1", srv.port());
    if (fd < 0) continue;
    const std::string partial = "GET /small HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    (void)::send(fd, partial.data(), partial.size(), MSG_NOSIGNAL);
    slow.push_back(fd);
  }
  CHECK(slow.size() == 200);
  std::this_thread::sleep_for(200ms);  // let the server accept (and refuse) them all

  const auto t0 = std::chrono::steady_clock::now();
  const int fd = connect_from("127.0.0.2", srv.port());
  REQUIRE(fd >= 0);
  const std::string req = get("/small", "Connection: close\r\n");
  REQUIRE(::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size()));
  std::string raw;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) raw.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  const auto took = std::chrono::steady_clock::now() - t0;
  CHECK(raw.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(took <= 1s);
  for (int s : slow) ::close(s);
  server.reset();  // no more logging from the io thread
  auto& sinks = spdlog::default_logger()->sinks();
  sinks.erase(std::remove(sinks.begin(), sinks.end(), sink), sinks.end());
  // 184 refusals (old: one "answering 503" line each), one line now: the rest are
  // summarised after the interval (60 s).
  const std::string text = log.str();
  CHECK(text.find("answering 503") == std::string::npos);
  std::size_t lines = 0;
  for (std::size_t p = 0; (p = text.find("http: refus", p)) != std::string::npos; ++p) ++lines;
  CHECK(lines == 1);
}

TEST_CASE("a header trickled a byte at a time is cut off at the header deadline",
          "[agent][http][hostile]") {
  HttpServerOptions options;
  options.read_timeout = 10s;
  options.header_timeout = 700ms;
  options.idle_read_timeout = 400ms;
  TestServer srv(options);
  Client slow(srv.port(), 5s);
  REQUIRE(slow.connected());
  const auto t0 = std::chrono::steady_clock::now();
  bool closed = false;
  for (int i = 0; i < 40 && !closed; ++i) {  // one byte every 100 ms: each read brings data
    closed = !slow.send("X");
    std::this_thread::sleep_for(100ms);
    if (std::chrono::steady_clock::now() - t0 > 1500ms) break;
  }
  CHECK((closed || slow.wait_closed()));
  const auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took >= 600ms);
  CHECK(took < 2500ms);  // request_timeout (10 s) would have kept it

  // A client that stops sending is cut off by the per-read deadline.
  Client stalled(srv.port(), 5s);
  REQUIRE(stalled.send("GET /small HTTP/1.1\r\n"));
  const auto t1 = std::chrono::steady_clock::now();
  CHECK(stalled.wait_closed());
  CHECK(std::chrono::steady_clock::now() - t1 < 1500ms);
}

TEST_CASE("CONNECT and OPTIONS * get 405 like every other method", "[agent][http][hostile]") {
  TestServer srv;
  Client c(srv.port());
  REQUIRE(c.send("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 405);
  Client o(srv.port());
  REQUIRE(o.send("OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  r = o.read_response();
  REQUIRE(r);
  CHECK(r->status == 405);
  CHECK(r->header("allow") == "GET, HEAD");
}
