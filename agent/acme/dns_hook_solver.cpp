#include "agent/acme/dns_hook_solver.h"

#include <spdlog/spdlog.h>

#include <boost/asio/steady_timer.hpp>

#include "agent/process/argv_runner.h"

namespace certwatch::agent::acme {
namespace {

void replace_all(std::string& s, std::string_view from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
    s.replace(p, from.size(), to);
}

}  // namespace

std::vector<std::string> substitute_hook(const std::vector<std::string>& argv,
                                         const Challenge& challenge) {
  const std::string name = "_acme-challenge." + challenge.identifier + ".";
  std::vector<std::string> out;
  for (std::string arg : argv) {
    // One pass per placeholder, in an order where no substituted text can form another one:
    // identifiers and TXT values never contain '{'.
    replace_all(arg, "{name}", name);
    replace_all(arg, "{identifier}", challenge.identifier);
    replace_all(arg, "{value}", challenge.dns_value);
    out.push_back(std::move(arg));
  }
  return out;
}

DnsHookSolver::DnsHookSolver(boost::asio::io_context& io, DnsHookSettings settings)
    : io_(io), settings_(std::move(settings)), alive_(std::make_shared<bool>(true)) {}

DnsHookSolver::~DnsHookSolver() {
  *alive_ = false;
}

std::string DnsHookSolver::describe() const {
  return "dns-01 hook " + (settings_.set.empty() ? std::string("?") : settings_.set.front());
}

void DnsHookSolver::present(const Challenge& challenge, SolverDone done) {
  // The TXT value is derived from the key authorization but does not reveal it; the log names
  // the record only.
  spdlog::info("acme dns-01: set hook for _acme-challenge.{}.", challenge.identifier);
  auto wait = std::make_shared<PropagationWait>(io_);
  waits_[challenge.token] = wait;
  start_argv(
      io_, substitute_hook(settings_.set, challenge), settings_.hook_timeout, "dns-01 set hook",
      [this, alive = alive_, wait, done = std::move(done)](certwatch::Result<void> r) mutable {
        if (!*alive) return done(certwatch::make_error("dns-01 solver is gone"));
        if (!r || settings_.propagation.count() == 0 || wait->ended) return done(r);
        wait->timer.expires_after(settings_.propagation);
        wait->timer.async_wait([wait, done = std::move(done)](boost::system::error_code) {
          done(certwatch::Result<void>());
        });
      });
}

void DnsHookSolver::cleanup(const Challenge& challenge, SolverDone done) {
  if (auto it = waits_.find(challenge.token); it != waits_.end()) {
    it->second->ended = true;
    it->second->timer.cancel();
    waits_.erase(it);
  }
  spdlog::info("acme dns-01: clear hook for _acme-challenge.{}.", challenge.identifier);
  start_argv(io_, substitute_hook(settings_.clear, challenge), settings_.hook_timeout,
             "dns-01 clear hook", std::move(done));
}

}  // namespace certwatch::agent::acme
