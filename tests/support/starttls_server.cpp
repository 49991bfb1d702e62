// The scripted STARTTLS server (see starttls_server.h). The replies follow the examples of the
// RFCs (5321/3207, 3501, 2449/2595, 959/4217) and PostgreSQL's protocol docs; `openssl
// s_client -starttls` accepts them (tests/integration/probe_starttls_test.cpp checks that).
#include "support/starttls_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <stdexcept>

namespace testing {
namespace {

struct Reply {
  std::string text;
  bool go = false;     // the go-ahead: TLS follows
  bool close = false;  // the session ends (QUIT, LOGOUT)
};

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

std::string greeting(const std::string& protocol) {
  if (protocol == "smtp") return "220-starttls.test ESMTP certwatch test server\r\n220 ready\r\n";
  if (protocol == "imap") return "* OK IMAP4rev1 certwatch test server ready\r\n";
  if (protocol == "pop3") return "+OK certwatch test server ready\r\n";
  return "220-certwatch test server\r\n welcome\r\n220 ready\r\n";  // ftp
}

// The answer to one client line.
Reply respond(const std::string& protocol, const std::string& line, bool refuse) {
  const std::string cmd = upper(line);
  if (protocol == "smtp") {
    if (cmd.rfind("EHLO ", 0) == 0)
      return {"250-starttls.test greets you\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n"};
    if (cmd == "STARTTLS")
      return refuse ? Reply{"454 4.7.0 TLS not available due to local problem\r\n"}
                    : Reply{"220 2.0.0 Ready to start TLS\r\n", true};
    if (cmd == "QUIT") return {"221 2.0.0 bye\r\n", false, true};
    return {"500 5.5.2 unknown command\r\n"};
  }
  if (protocol == "imap") {
    const std::string tag = line.substr(0, line.find(' '));
    const std::string rest = cmd.size() > tag.size() ? cmd.substr(tag.size() + 1) : "";
    if (rest == "CAPABILITY")
      return {"* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n" + tag + " OK CAPABILITY completed\r\n"};
    if (rest == "STARTTLS")
      return refuse ? Reply{tag + " NO [UNAVAILABLE] TLS not available\r\n"}
                    : Reply{tag + " OK Begin TLS negotiation now\r\n", true};
    if (rest == "LOGOUT") return {"* BYE\r\n" + tag + " OK LOGOUT completed\r\n", false, true};
    return {tag + " BAD unknown command\r\n"};
  }
  if (protocol == "pop3") {
    if (cmd == "CAPA") return {"+OK Capability list follows\r\nUSER\r\nSTLS\r\n.\r\n"};
    if (cmd == "STLS")
      return refuse ? Reply{"-ERR TLS not available\r\n"} : Reply{"+OK Begin TLS negotiation\r\n", true};
    if (cmd == "QUIT") return {"+OK bye\r\n", false, true};
    return {"-ERR unknown command\r\n"};
  }
  if (cmd == "AUTH TLS")  // ftp
    return refuse ? Reply{"431 TLS not available\r\n"} : Reply{"234 AUTH TLS successful\r\n", true};
  if (cmd == "FEAT") return {"211-Features:\r\n AUTH TLS\r\n211 End\r\n"};
  if (cmd == "QUIT") return {"221 bye\r\n", false, true};
  return {"500 unknown command\r\n"};
}

void send_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

// One byte at a time, so nothing past the line is taken from the socket (the client's TLS
// bytes follow the command line that asked for them). nullopt on close, timeout or 4 KiB.
std::optional<std::string> read_line(int fd) {
  std::string line;
  while (line.size() < 4096) {
    char c = 0;
    if (::recv(fd, &c, 1, 0) != 1) return std::nullopt;
    if (c == '\n') {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return line;
    }
    line += c;
  }
  return std::nullopt;
}

std::optional<std::string> read_exact(int fd, size_t n) {
  std::string out(n, '\0');
  size_t got = 0;
  while (got < n) {
    const ssize_t r = ::recv(fd, out.data() + got, n - got, 0);
    if (r <= 0) return std::nullopt;
    got += static_cast<size_t>(r);
  }
  return out;
}

std::string hex(const std::string& bytes) {
  std::string out;
  char b[4];
  for (const unsigned char c : bytes) {
    std::snprintf(b, sizeof b, "%02x", c);
    out += b;
  }
  return out;
}

}  // namespace

StartTlsServer::StartTlsServer(std::string protocol, const std::filesystem::path& chain,
                               const std::filesystem::path& key, StartTlsBehaviour behaviour)
    : protocol_(std::move(protocol)), behaviour_(behaviour) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr || SSL_CTX_use_certificate_chain_file(ctx, chain.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    SSL_CTX_free(ctx);
    ERR_clear_error();
    throw std::runtime_error("StartTlsServer: cannot load " + chain.string() + " / " + key.string());
  }
  ctx_ = ctx;
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&sa), &len) != 0 || ::listen(listen_fd_, 16) != 0) {
    ::close(listen_fd_);
    SSL_CTX_free(ctx);
    throw std::runtime_error("StartTlsServer: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(sa.sin_port);
  thread_ = std::thread([this] { serve(); });
}

StartTlsServer::~StartTlsServer() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  ::close(listen_fd_);
  SSL_CTX_free(static_cast<SSL_CTX*>(ctx_));
}

std::string StartTlsServer::transcript() const {
  const std::lock_guard lock(mutex_);
  return transcript_;
}

void StartTlsServer::note(const std::string& line) {
  const std::lock_guard lock(mutex_);
  transcript_ += line + "\n";
}

void StartTlsServer::serve() {
  // A client that leaves mid-handshake must not kill the test binary with SIGPIPE from
  // OpenSSL's writes; the signal is thread-directed, so blocking it here is enough.
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  const auto end = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  while (!stop_ && std::chrono::steady_clock::now() < end) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    const timeval limit{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    converse(fd);
    ::close(fd);
  }
}

void StartTlsServer::converse(int fd) {
  const bool refuse = behaviour_ == StartTlsBehaviour::refuse;
  bool go = false;
  if (behaviour_ == StartTlsBehaviour::garbage) {
    // Then wait for the client to leave: closing with its bytes unread would reset the
    // connection and could discard the answer before the client reads it.
    send_all(fd, "HTTP/1.0 400 Bad Request\r\n\r\n");
  } else if (protocol_ == "postgres") {
    const auto request = read_exact(fd, 8);
    if (!request) return;
    note(hex(*request));
    if (*request != std::string("\x00\x00\x00\x08\x04\xd2\x16\x2f", 8)) return;
    send_all(fd, refuse ? "N" : "S");
    go = !refuse;
  } else {
    send_all(fd, greeting(protocol_));
    for (int i = 0; i < 8 && !go; ++i) {
      const auto line = read_line(fd);
      if (!line) return;
      note(*line);
      const Reply r = respond(protocol_, *line, refuse);
      send_all(fd, r.text);
      if (r.close) return;
      go = r.go;
    }
  }
  if (!go) {
    char sink[256];
    while (::recv(fd, sink, sizeof sink, 0) > 0) {}  // until the client leaves (or 5 s)
    return;
  }
  SSL* ssl = SSL_new(static_cast<SSL_CTX*>(ctx_));
  SSL_set_fd(ssl, fd);
  if (SSL_accept(ssl) == 1) {
    ++handshakes_;
    char sink[256];
    for (int i = 0; i < 64 && SSL_read(ssl, sink, sizeof sink) > 0; ++i) {}  // until the client leaves
  }
  SSL_free(ssl);
  ERR_clear_error();
}

}  // namespace testing
