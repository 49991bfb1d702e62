#include "agent/acme/webroot_solver.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "pki/deploy/atomic_file.h"

namespace certwatch::agent::acme {
namespace fs = std::filesystem;

bool token_ok(const std::string& token) {
  return !token.empty() && token.size() <= 256 &&
         token.find_first_not_of(
             "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
             std::string::npos;
}

WebrootSolver::WebrootSolver(boost::asio::io_context& io, fs::path webroot)
    : io_(io), webroot_(std::move(webroot)) {}

fs::path WebrootSolver::token_path(const std::string& token) const {
  return webroot_ / ".well-known" / "acme-challenge" / token;
}

void WebrootSolver::present(const Challenge& challenge, SolverDone done) {
  certwatch::Result<void> r;
  if (!token_ok(challenge.token)) {
    r = certwatch::make_error(
        "http-01 webroot: refusing token '" + challenge.token.substr(0, 64) + "' (not base64url)",
        certwatch::ErrorKind::invalid_input);
  } else {
    const auto path = token_path(challenge.token);
    r = pki::make_directories(path.parent_path(), 0755);
    // 0644: the web server runs as another user and must read it; it holds nothing secret
    // once the order is done, and it is removed then.
    if (r) r = pki::write_file_atomic(path, challenge.key_authorization, 0644);
    if (!r)
      r = certwatch::make_error("http-01 webroot " + path.string() + ": " + r.error().message,
                                r.error().kind);
    else
      spdlog::info("acme http-01: token {} written to {}", challenge.token,
                   path.parent_path().string());
  }
  boost::asio::post(io_, [done = std::move(done), r]() mutable { done(r); });
}

void WebrootSolver::cleanup(const Challenge& challenge, SolverDone done) {
  certwatch::Result<void> r;
  if (token_ok(challenge.token)) {
    std::error_code ec;
    fs::remove(token_path(challenge.token), ec);
    if (ec)
      r = certwatch::make_error("http-01 webroot: removing " +
                                token_path(challenge.token).string() + ": " + ec.message());
  }
  boost::asio::post(io_, [done = std::move(done), r]() mutable { done(r); });
}

}  // namespace certwatch::agent::acme
