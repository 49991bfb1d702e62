// http-01 answered by the agent itself (RFC 8555 8.3): the agent's HTTP server (agent/http)
// on its io_context, started on the first present() and stopped when the last challenge is
// cleaned up, with one exact route per presented token. It answers
// GET /.well-known/acme-challenge/<token> with the key authorization (text/plain) for the tokens
// presented right now, and 404 for anything else; HttpServer bounds every connection (header
// limit, no body, one deadline per step, connection caps per server and per client).
// Thread-safety: io_context thread only.
#pragma once

#include <utility>  // before asio: Boost 1.74 + GCC 12 + C++20

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "agent/acme/challenge_solver.h"
#include "config/config.h"

namespace certwatch::agent {
class HttpServer;
}

namespace certwatch::agent::acme {

struct Http01Limits {
  std::chrono::milliseconds exchange_timeout{std::chrono::seconds(10)};  // each read and write
  uint32_t max_header_bytes = 4096;  // a validation request is one line and a few headers
};

class Http01Listener final : public ChallengeSolver {
 public:
  Http01Listener(boost::asio::io_context& io, config::ListenAddress address,
                 Http01Limits limits = {});
  ~Http01Listener() override;

  std::string type() const override { return "http-01"; }
  void present(const Challenge& challenge, SolverDone done) override;
  void cleanup(const Challenge& challenge, SolverDone done) override;
  std::string describe() const override;

  // The bound port while open (the configured one, or the kernel's choice for port 0); 0 closed.
  uint16_t bound_port() const;

 private:
  boost::asio::io_context& io_;
  config::ListenAddress address_;
  Http01Limits limits_;
  // Presents outstanding per token (each has a route); the server exists while there is one.
  std::map<std::string, int> pending_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace certwatch::agent::acme
