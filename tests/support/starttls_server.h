// A scripted STARTTLS server for tests: listens on 127.0.0.1 (port 0), speaks the plaintext
// dialogue of one protocol as its RFC shows it (SMTP greeting/EHLO/STARTTLS, IMAP
// CAPABILITY/STARTTLS, POP3 CAPA/STLS, FTP AUTH TLS, PostgreSQL SSLRequest), then accepts TLS
// with the given chain and key and waits for the client to close. Its own transcript (what the
// clients sent in plaintext) and handshake count let a test see both sides. Connections are
// served one after another on one thread; every read has a deadline, the thread stops on
// destruction and after two minutes at most.
#pragma once

#include <atomic>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>

namespace testing {

enum class StartTlsBehaviour {
  accept,   // agree to STARTTLS, then handshake
  refuse,   // answer the STARTTLS command (or SSLRequest) with the protocol's refusal
  garbage,  // greet with an HTTP error line instead of the protocol, then close
};

class StartTlsServer {
 public:
  // protocol: "smtp", "imap", "pop3", "ftp" or "postgres"; chain: PEM, leaf first.
  StartTlsServer(std::string protocol, const std::filesystem::path& chain, const std::filesystem::path& key,
                 StartTlsBehaviour behaviour = StartTlsBehaviour::accept);
  ~StartTlsServer();
  StartTlsServer(const StartTlsServer&) = delete;
  StartTlsServer& operator=(const StartTlsServer&) = delete;

  int port() const { return port_; }
  int handshakes() const { return handshakes_; }  // TLS handshakes completed
  std::string transcript() const;                 // client lines, "\n"-separated; postgres: hex

 private:
  void serve();
  void converse(int fd);
  void note(const std::string& line);

  std::string protocol_;
  StartTlsBehaviour behaviour_;
  void* ctx_ = nullptr;  // SSL_CTX*, kept out of this header
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> handshakes_{0};
  mutable std::mutex mutex_;
  std::string transcript_;
  std::thread thread_;
};

}  // namespace testing
