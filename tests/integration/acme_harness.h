// The ACME client tests' side of things: a challenge solver that records what it was asked (the
// real solvers belong to the acme issuer), a client on a test-owned io_context, and running
// an order or an ARI query to its callback with a bound on the time.
#pragma once

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "agent/acme/acme_client.h"
#include "integration/pebble_server.h"
#include "pki/acme/csr_builder.h"
#include "pki/x509/keygen.h"

namespace acme_test {

using namespace certwatch::agent::acme;

// Answers present() at once (or through `on_present`) and records every call.
struct RecordingSolver final : ChallengeSolver {
  std::string solver_type = "http-01";
  std::vector<Challenge> presented;
  std::vector<Challenge> cleaned;
  std::function<void(const Challenge&, SolverDone)> on_present;  // default: done at once

  std::string type() const override { return solver_type; }
  void present(const Challenge& challenge, SolverDone done) override {
    presented.push_back(challenge);
    if (on_present) {
      on_present(challenge, std::move(done));
    } else {
      done(certwatch::Result<void>());
    }
  }
  void cleanup(const Challenge& challenge, SolverDone done) override {
    cleaned.push_back(challenge);
    done(certwatch::Result<void>());
  }
  std::string describe() const override { return "test solver (" + solver_type + ")"; }
};

inline certwatch::pki::UniquePtr<EVP_PKEY> new_key(certwatch::pki::KeyType type = certwatch::pki::KeyType::ec_p256) {
  auto key = certwatch::pki::generate_key(type);
  REQUIRE(key.ok());
  return std::move(*key);
}

inline ClientSettings settings_for(pebble_test::Pebble& pebble) {
  ClientSettings s;
  s.directory_url = pebble.directory_url();
  s.server_trust = {pebble.tls_root()};
  s.contact = {"mailto:ops@example.org"};
  s.request_timeout = std::chrono::seconds(10);
  s.order_timeout = std::chrono::seconds(30);
  return s;
}

inline OrderRequest request_for(const std::vector<std::string>& names) {
  auto key = new_key();
  auto csr = certwatch::pki::build_csr_der(key.get(), names);
  REQUIRE(csr.ok());
  return OrderRequest{names, *csr, std::nullopt};
}

// Runs `io` until `start`'s callback ran or `limit` passed; nullopt: no callback in time.
template <class T>
std::optional<certwatch::Result<T>> run_until_done(
    boost::asio::io_context& io,
    const std::function<void(std::function<void(certwatch::Result<T>)>)>& start,
    std::chrono::milliseconds limit = std::chrono::seconds(60)) {
  std::optional<certwatch::Result<T>> out;
  int calls = 0;
  start([&](certwatch::Result<T> r) {
    ++calls;
    out.emplace(std::move(r));
  });
  const auto end = std::chrono::steady_clock::now() + limit;
  io.restart();
  while (!out && std::chrono::steady_clock::now() < end) io.run_for(std::chrono::milliseconds(20));
  // Let anything already queued run, so a second callback would be seen.
  io.restart();
  io.poll();
  CHECK(calls <= 1);
  return out;
}

inline std::optional<certwatch::Result<OrderResult>> order(
    boost::asio::io_context& io, Client& client, const OrderRequest& request,
    ChallengeSolver& solver, std::chrono::milliseconds limit = std::chrono::seconds(60)) {
  return run_until_done<OrderResult>(
      io,
      [&](std::function<void(certwatch::Result<OrderResult>)> done) {
        client.order(request, solver, std::move(done));
      },
      limit);
}

// Requires an issued order, showing the error (and pebble's log) otherwise.
inline void require_issued(const std::optional<certwatch::Result<OrderResult>>& r,
                           const std::string& log = {}) {
  REQUIRE(r.has_value());
  INFO((r->ok() ? std::string() : r->error().message) << "\npebble: " << log);
  REQUIRE(r->ok());
}

// One test's pebble (accepting every challenge unless told otherwise), temp dir and loop.
struct PebbleLab {
  testing::TempDir tmp;
  pebble_test::Pebble pebble;
  boost::asio::io_context io;

  explicit PebbleLab(
      pebble_test::PebbleOptions options = pebble_test::with_env({"PEBBLE_VA_ALWAYS_VALID=1"}))
      : pebble(tmp.path(), std::move(options)) {}
  std::unique_ptr<Client> client(certwatch::pki::UniquePtr<EVP_PKEY> key = new_key()) {
    return Client::make(io, settings_for(pebble), std::move(key));
  }
  std::unique_ptr<Client> client(ClientSettings settings) {
    return Client::make(io, std::move(settings), new_key());
  }
  std::optional<certwatch::Result<OrderResult>> order(
      Client& c, const std::vector<std::string>& names, ChallengeSolver& solver,
      std::chrono::milliseconds limit = std::chrono::seconds(60)) {
    return acme_test::order(io, c, request_for(names), solver, limit);
  }
};

inline std::string error_of(const std::optional<certwatch::Result<OrderResult>>& r) {
  REQUIRE(r.has_value());
  REQUIRE_FALSE(r->ok());
  return r->error().message;
}

}  // namespace acme_test
