// The endpoint source: everything between the `endpoints:` entries of the config and the
// inventory. Each endpoint is probed every `interval` (± a tenth, so endpoints configured
// together drift apart) on the agent's io_context, at most agent.probe_concurrency probes in
// flight; the first round is spread over min(interval/10, 5 ms per endpoint) so a thousand
// endpoints do not fire in the same second. Every address a name resolves to is its own
// target ("host:port [address]", source "endpoint"); a name that does not resolve is the
// target "host:port" with endpoint.unreachable. The last outcome of each address is kept, so
// a crossed expiry threshold is judged again without a new handshake.
//
// A config reload keeps the schedule and the results of endpoints whose entry did not change
// (judged again if the trust, thresholds or severities did); a changed entry is probed again
// at once, and its old targets go when the new probe reports; a removed entry's targets go.
//
// Thread-safety: every member runs on the io_context's thread.
#pragma once

#include <utility>  // before asio: Boost 1.74 + GCC 12 + C++20

#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>

#include "agent/clock/clock.h"
#include "agent/inventory/inventory.h"
#include "agent/inventory/source_sink.h"
#include "agent/probe/endpoint_judge.h"
#include "agent/probe/tls_probe.h"
#include "config/config.h"
#include "pki/judge/trust_store.h"
#include "pki/verify/verify_cache.h"

namespace certwatch::agent {

class EndpointSource {
 public:
  EndpointSource(boost::asio::io_context& io, Clock& clock, Inventory& inventory, SourceSink& sink);
  ~EndpointSource();
  EndpointSource(const EndpointSource&) = delete;
  EndpointSource& operator=(const EndpointSource&) = delete;

  // Takes a (new) config (see above).
  void apply(const config::Config& cfg);
  // Judges again the stored outcomes whose time-dependent findings may have changed by `now`.
  void rejudge_due(int64_t now);
  // Cancels every probe and timer; results still in flight are dropped.
  void stop();

  std::size_t endpoint_count() const { return endpoints_.size(); }
  std::size_t probes_in_flight() const { return in_flight_; }

 private:
  struct Seen {
    probe::AddressOutcome outcome;
    int64_t probed_at = 0;
  };
  struct Endpoint {
    std::shared_ptr<const EndpointContext> ctx;
    std::unique_ptr<ClockTimer> timer;
    std::shared_ptr<probe::ProbeHandle> probe;  // in flight
    bool queued = false;
    uint64_t generation = 0;           // a completion of another generation is dropped
    std::set<std::string> targets;     // inventory targets it owns
    std::map<std::string, Seen> last;  // last outcome per address target, for re-judging
  };

  void schedule(Endpoint& ep, std::chrono::milliseconds delay);
  void enqueue(const std::string& name);
  void pump();
  void start(Endpoint& ep);
  void on_done(const std::string& name, uint64_t generation, probe::TlsProbeResult result);
  void replace_targets(Endpoint& ep, std::map<std::string, InventoryEntry> fresh);
  void remove_all(Endpoint& ep);
  void rejudge_all(Endpoint& ep, int64_t now);
  void cancel_probe(Endpoint& ep);
  int64_t last_success(const std::string& target) const;
  std::chrono::milliseconds jittered(std::chrono::milliseconds interval);

  boost::asio::io_context& io_;
  Clock& clock_;
  Inventory& inventory_;
  SourceSink& sink_;
  // One read per distinct trust list across the endpoints, re-read when a file of it changes.
  pki::TrustStore trust_;
  std::map<std::string, std::unique_ptr<Endpoint>> endpoints_;  // by "host:port"
  std::deque<std::string> queue_;                               // due, waiting for a free slot
  std::size_t in_flight_ = 0;
  std::size_t concurrency_ = 64;
  uint64_t next_generation_ = 1;
  bool stopping_ = false;
  pki::VerifyCache cache_;
  std::mt19937_64 rng_;
  // Completions posted after the source is gone find this expired and do nothing.
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace certwatch::agent
