#include "agent/probe/endpoint_source.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace certwatch::agent {

using std::chrono::milliseconds;

EndpointSource::EndpointSource(boost::asio::io_context& io, Clock& clock, Inventory& inventory,
                               SourceSink& sink)
    : io_(io), clock_(clock), inventory_(inventory), sink_(sink), rng_(std::random_device{}()) {}

EndpointSource::~EndpointSource() {
  stop();
}

milliseconds EndpointSource::jittered(milliseconds interval) {
  // ± a tenth: endpoints configured together drift apart instead of firing together forever.
  const int64_t tenth = interval.count() / 10;
  std::uniform_int_distribution<int64_t> d(-tenth, tenth);
  return milliseconds(interval.count() + d(rng_));
}

void EndpointSource::apply(const config::Config& cfg) {
  if (stopping_) return;
  concurrency_ = std::max<std::size_t>(1, cfg.agent.probe_concurrency);
  const auto plain = make_plain_probe_context();
  if (const certwatch::Error* err = plain->error())
    spdlog::error("endpoints: no TLS client context, every probe fails: {}", err->message);
  std::map<std::string, std::unique_ptr<Endpoint>> next;
  std::vector<std::string> fresh;  // new or changed: probed in the first round
  for (const auto& e : cfg.endpoints) {
    auto ctx = make_endpoint_context(cfg, e, trust_, plain);
    for (const auto& err : ctx->trust_errors)
      spdlog::warn("trust for endpoint {}: {}", ctx->name, err);
    if (!ctx->identity)
      spdlog::error("endpoint {}: client certificate not used: {}", ctx->name,
                    ctx->identity.error().message);
    auto old = endpoints_.find(ctx->name);
    if (old != endpoints_.end() && old->second->ctx->entry == e) {
      // Unchanged: keep its schedule and results; judge them again if the judgement changed.
      auto ep = std::move(old->second);
      endpoints_.erase(old);
      const bool rejudge = !judged_alike(*ep->ctx, *ctx);
      ep->ctx = std::move(ctx);
      if (rejudge) rejudge_all(*ep, clock_.now());
      next.emplace(ep->ctx->name, std::move(ep));
      continue;
    }
    auto ep = std::make_unique<Endpoint>();
    ep->ctx = std::move(ctx);
    ep->timer = clock_.make_timer();
    ep->generation = next_generation_++;
    if (old != endpoints_.end()) {
      // Changed: its targets stay until the new probe reports; what is in flight is dropped.
      ep->targets = std::move(old->second->targets);
      cancel_probe(*old->second);
      endpoints_.erase(old);
    }
    fresh.push_back(ep->ctx->name);
    next.emplace(ep->ctx->name, std::move(ep));
  }
  for (auto& [name, ep] : endpoints_) {  // removed from the config
    cancel_probe(*ep);
    remove_all(*ep);
    spdlog::info("endpoint {}: no longer configured", name);
  }
  endpoints_ = std::move(next);
  // The first round, spread so that many endpoints do not fire in the same second.
  for (const auto& name : fresh) {
    Endpoint& ep = *endpoints_.at(name);
    const auto interval = std::chrono::duration_cast<milliseconds>(ep.ctx->entry.interval);
    const int64_t spread =
        std::min<int64_t>(interval.count() / 10, 5 * static_cast<int64_t>(fresh.size()));
    std::uniform_int_distribution<int64_t> d(0, std::max<int64_t>(0, spread));
    schedule(ep, milliseconds(d(rng_)));
  }
  sink_.settled();
}

void EndpointSource::cancel_probe(Endpoint& ep) {
  // A cancelled probe may report at once, inside cancel(): generation 0 matches no endpoint,
  // so on_done drops it.
  ep.generation = 0;
  ep.queued = false;
  ep.timer->cancel();
  if (auto p = std::move(ep.probe)) p->cancel();
}

void EndpointSource::schedule(Endpoint& ep, milliseconds delay) {
  std::weak_ptr<char> alive = alive_;
  ep.timer->wait_for(delay, [this, alive, name = ep.ctx->name](bool fired) {
    if (fired && !alive.expired()) enqueue(name);
  });
}

void EndpointSource::enqueue(const std::string& name) {
  if (stopping_) return;
  auto it = endpoints_.find(name);
  if (it == endpoints_.end()) return;
  Endpoint& ep = *it->second;
  if (ep.probe || ep.queued) return;  // its completion schedules the next probe
  ep.queued = true;
  queue_.push_back(name);
  pump();
}

void EndpointSource::pump() {
  while (!stopping_ && in_flight_ < concurrency_ && !queue_.empty()) {
    const std::string name = std::move(queue_.front());
    queue_.pop_front();
    auto it = endpoints_.find(name);
    if (it == endpoints_.end() || !it->second->queued) continue;
    it->second->queued = false;
    start(*it->second);
  }
}

void EndpointSource::start(Endpoint& ep) {
  ++in_flight_;
  std::weak_ptr<char> alive = alive_;
  ep.probe = probe::start_probe(
      io_, ep.ctx->target, ep.ctx->tls,
      [this, alive, name = ep.ctx->name, generation = ep.generation](probe::TlsProbeResult r) {
        if (alive.expired()) return;
        on_done(name, generation, std::move(r));
      });
}

int64_t EndpointSource::last_success(const std::string& target) const {
  const InventoryEntry* e = inventory_.find({SourceKind::endpoint, target});
  return e != nullptr && e->endpoint() != nullptr ? e->endpoint()->last_success : 0;
}

void EndpointSource::on_done(const std::string& name, uint64_t generation,
                             probe::TlsProbeResult r) {
  --in_flight_;
  auto it = endpoints_.find(name);
  if (stopping_ || it == endpoints_.end() || it->second->generation != generation) {
    pump();
    return;
  }
  Endpoint& ep = *it->second;
  ep.probe.reset();
  const EndpointContext& ctx = *ep.ctx;
  const int64_t now = clock_.now();
  std::map<std::string, InventoryEntry> fresh;
  std::size_t ok = 0;
  std::size_t failed = 0;
  ep.last.clear();
  if (r.resolve_error) {
    fresh.emplace(ctx.name, judge_unresolved(ctx, *r.resolve_error, now, last_success(ctx.name)));
    ++failed;
  } else {
    for (auto& a : r.addresses) {
      const std::string target = endpoint_target(ctx, a.address);
      (a.ok() ? ok : failed) += 1;
      if (!a.ok() && !ep.targets.count(target))
        spdlog::warn("endpoint {}: {}: {}", target, probe::finding_id(a.failed), a.reason);
      fresh.emplace(target, judge_address(ctx, a, now, now, last_success(target), &cache_));
      ep.last[target] = Seen{std::move(a), now};
    }
  }
  replace_targets(ep, std::move(fresh));
  sink_.probes_finished(ok, failed);
  sink_.settled();
  schedule(ep, jittered(std::chrono::duration_cast<milliseconds>(ctx.entry.interval)));
  pump();
}

void EndpointSource::replace_targets(Endpoint& ep, std::map<std::string, InventoryEntry> fresh) {
  for (const auto& t : ep.targets)
    if (fresh.count(t) == 0) (void)inventory_.remove({SourceKind::endpoint, t});
  ep.targets.clear();
  for (auto& [t, entry] : fresh) {
    ep.targets.insert(t);
    (void)inventory_.observe({SourceKind::endpoint, t}, inventory_.prepare(std::move(entry)));
  }
}

void EndpointSource::rejudge_all(Endpoint& ep, int64_t now) {
  for (const auto& [target, seen] : ep.last)
    (void)inventory_.observe({SourceKind::endpoint, target},
                             inventory_.prepare(judge_address(*ep.ctx, seen.outcome, seen.probed_at,
                                                              now, last_success(target), &cache_)));
}

void EndpointSource::rejudge_due(int64_t now) {
  if (stopping_) return;
  bool any = false;
  for (auto& [name, ep] : endpoints_) {
    for (const auto& [target, seen] : ep->last) {
      const InventoryEntry* e = inventory_.find({SourceKind::endpoint, target});
      if (e == nullptr || e->rejudge_at > now) continue;
      (void)inventory_.observe(
          {SourceKind::endpoint, target},
          inventory_.prepare(judge_address(*ep->ctx, seen.outcome, seen.probed_at, now,
                                           last_success(target), &cache_)));
      any = true;
    }
  }
  if (any) sink_.settled();
}

void EndpointSource::remove_all(Endpoint& ep) {
  for (const auto& t : ep.targets) (void)inventory_.remove({SourceKind::endpoint, t});
  ep.targets.clear();
  ep.last.clear();
}

void EndpointSource::stop() {
  if (stopping_) return;
  stopping_ = true;
  queue_.clear();
  std::vector<std::shared_ptr<probe::ProbeHandle>> probes;
  for (auto& [name, ep] : endpoints_) {
    ep->timer->cancel();
    if (ep->probe) probes.push_back(std::move(ep->probe));
  }
  // A cancelled probe may report at once (on_done, which drops it: stopping_).
  for (auto& p : probes) p->cancel();
}

}  // namespace certwatch::agent
