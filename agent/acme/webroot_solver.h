// http-01 through a web server the host already runs (RFC 8555 8.3): the key authorization is
// written to <webroot>/.well-known/acme-challenge/<token> (atomically, 0644, directories
// created when missing, 0755) and removed again on cleanup. The web server must serve that
// directory on port 80 of every identifier.
// Thread-safety: io_context thread only.
#pragma once

#include <utility>  // before asio: Boost 1.74 + GCC 12 + C++20

#include <boost/asio/io_context.hpp>
#include <filesystem>

#include "agent/acme/challenge_solver.h"

namespace certwatch::agent::acme {

class WebrootSolver final : public ChallengeSolver {
 public:
  WebrootSolver(boost::asio::io_context& io, std::filesystem::path webroot);

  std::string type() const override { return "http-01"; }
  void present(const Challenge& challenge, SolverDone done) override;
  void cleanup(const Challenge& challenge, SolverDone done) override;
  std::string describe() const override { return "http-01 webroot " + webroot_.string(); }

  // Where a token's file goes (for tests and messages).
  std::filesystem::path token_path(const std::string& token) const;

 private:
  boost::asio::io_context& io_;
  std::filesystem::path webroot_;
};

// RFC 8555 8.3: a token is base64url without padding; anything else must never become a path.
bool token_ok(const std::string& token);

}  // namespace certwatch::agent::acme
