// libFuzzer target for the HTTP request path: the agent's HttpServer (Beast parser, limits,
// deadlines, routing, gzip) on a loopback port, each input sent as the bytes of one
// connection. The server runs on its own thread with short deadlines, so an input that
// stalls the server shows as a libFuzzer -timeout failure.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <spdlog/spdlog.h>

#include "agent/server/http_server.h"

namespace {

using namespace certwatch::agent;

struct Server {
  Server() : work(boost::asio::make_work_guard(ioc)) {
    spdlog::set_level(spdlog::level::off);
    HttpServerOptions o;
    o.port = 0;
    o.read_timeout = std::chrono::milliseconds(500);
    o.header_timeout = std::chrono::milliseconds(300);
    o.idle_read_timeout = std::chrono::milliseconds(200);
    o.write_timeout = std::chrono::milliseconds(500);
    o.gzip_min_bytes = 64;
    server = std::make_unique<HttpServer>(ioc, o);
    const std::string big(4096, 'm');
    for (const char* path : {"/metrics", "/healthz", "/api/v1/certificates", "/"})
      server->route(path, [big](const HttpRequest& req) {
        return HttpResponse{200, "text/plain; charset=utf-8", std::string(req.path) + big, {}};
      });
    if (!server->start()) std::abort();
    port = server->port();
    thread = std::thread([this] { ioc.run(); });
  }
  boost::asio::io_context ioc;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work;
  std::unique_ptr<HttpServer> server;
  std::uint16_t port = 0;
  std::thread thread;  // runs for the life of the fuzzing process
};

Server& server() {
  static Server* s = new Server();  // never destroyed: libFuzzer exits with the thread running
  return *s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Server& s = server();
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(s.port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    for (size_t done = 0; done < size;) {
      const ssize_t n = ::send(fd, data + done, size - done, MSG_NOSIGNAL);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    ::shutdown(fd, SHUT_WR);
    char buf[65536];
    while (::recv(fd, buf, sizeof buf, 0) > 0) {
    }
  }
  ::close(fd);
  return 0;
}
