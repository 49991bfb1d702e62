// dns-01 through operator hook commands (RFC 8555 8.4), as certbot's manual hooks do: `set`
// runs with the record to create, `clear` with the record to remove, both as argv (no shell)
// with {name} = "_acme-challenge.<identifier>.", {value} = the TXT value and {identifier}
// substituted. After a successful `set` the solver waits `propagation` before reporting the
// challenge ready, so secondaries have the record when the server looks.
// Thread-safety: io_context thread only; the hooks run on threads of their own (argv_runner.h).
#pragma once

#include <utility>  // before asio: Boost 1.74 + GCC 12 + C++20

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agent/acme/challenge_solver.h"

namespace certwatch::agent::acme {

struct DnsHookSettings {
  std::vector<std::string> set;
  std::vector<std::string> clear;
  std::chrono::milliseconds propagation{0};
  std::chrono::milliseconds hook_timeout{std::chrono::seconds(60)};
};

// argv with the placeholders of `challenge` substituted (exposed for tests).
std::vector<std::string> substitute_hook(const std::vector<std::string>& argv,
                                         const Challenge& challenge);

class DnsHookSolver final : public ChallengeSolver {
 public:
  DnsHookSolver(boost::asio::io_context& io, DnsHookSettings settings);
  ~DnsHookSolver() override;

  std::string type() const override { return "dns-01"; }
  void present(const Challenge& challenge, SolverDone done) override;
  void cleanup(const Challenge& challenge, SolverDone done) override;
  std::string describe() const override;

 private:
  boost::asio::io_context& io_;
  DnsHookSettings settings_;
  // Cleared on destruction: a hook finishing later must not touch a dead solver.
  std::shared_ptr<bool> alive_;
  // The propagation wait of each presented token: cleanup() ends it, or keeps it from starting
  // when the set hook is still running, so a cancelled order (a stopping agent) does not keep
  // the io_context running for `propagation`.
  struct PropagationWait {
    explicit PropagationWait(boost::asio::io_context& io) : timer(io) {}
    boost::asio::steady_timer timer;
    bool ended = false;
  };
  std::map<std::string, std::shared_ptr<PropagationWait>> waits_;
};

}  // namespace certwatch::agent::acme
