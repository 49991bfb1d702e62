// Fills the exporters Registry from the inventory. Updated incrementally: a target's series
// are removed exactly (from its previous report) and re-added from the new one, so a
// one-file change costs O(its certificates × log N), deleted files leave no series behind and
// the text is rendered at scrape time from what is already there.
//
// Series per certificate: not_after/not_before timestamps (labels source, target, index,
// role, subject_cn, issuer_cn, serial; two identical certificates in one file differ by
// index) and certwatch_cert_info; per target: chain verdict and certificate count; one
// certwatch_finding per active finding, with the fingerprint of the certificate it names so
// that rules alert once per certificate; self metrics. Expiry is exported whatever the
// verdict. Thread-safety: io_context thread only (like the Registry).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/inventory/inventory.h"
#include "exporters/prometheus/metrics.h"

namespace certwatch::agent {

class AgentMetrics {
 public:
  AgentMetrics();
  AgentMetrics(const AgentMetrics&) = delete;
  AgentMetrics& operator=(const AgentMetrics&) = delete;

  // Replaces the series of `target` (null old: new target; null fresh: target gone). The
  // target's source kind is the `source` label. An InventoryListener (Inventory::subscribe).
  void update_target(const TargetId& target, const InventoryEntry* old,
                     const InventoryEntry* fresh);

  void scan_finished(double duration_seconds, int64_t finished_at);
  void set_files_watched(std::size_t n);
  void set_directories_watched(std::size_t n);
  void set_certificates(std::size_t n);
  void add_read_errors(std::size_t n);
  void config_loaded(bool ok, int64_t at);
  // Endpoint probes of addresses finished since the last call, and the endpoints configured.
  void probes_finished(std::size_t successes, std::size_t failures);
  void set_endpoints(std::size_t n);
  // Renewal schedule of one managed certificate (issue #11); remove_renewal when it is gone.
  // `served` < 0: unknown, no certwatch_renewal_served series.
  void set_renewal(const std::string& name, int64_t next_at, int64_t last_success, int failures,
                   int served);
  void remove_renewal(const std::string& name);
  void renewal_finished(bool ok);

  std::string render() const { return registry_.render(); }
  void render(std::string& out) const { registry_.render(out); }
  const exporters::Registry& registry() const { return registry_; }
  // For an output that keeps its own families in this registry (the MQTT publisher): it calls
  // touched() after each change so that the compressed exposition is rebuilt.
  exporters::Registry& shared_registry() { return registry_; }
  void touched() { changed(); }

  // The exposition in gzip form, rendered and compressed once per change: Prometheus scrapes
  // an unchanged inventory every few seconds, always asking for gzip, and at 100,000
  // certificates render + gzip is most of a second. Only the compressed form is kept (about a
  // tenth of the text: the text is what would cost RSS). Empty if compression failed (the
  // caller then sends render()).
  const std::string& gzipped();

 private:
  void add_entry(const std::string& target, std::string_view source, const InventoryEntry& e);
  void remove_entry(const std::string& target, std::string_view source, const InventoryEntry& e);
  void changed() { ++generation_; }

  uint64_t generation_ = 1;  // bumped by every mutation; the cache remembers its own
  uint64_t gzip_generation_ = 0;
  std::string gzip_;

  exporters::Registry registry_;
  exporters::GaugeFamily* not_after_;
  exporters::GaugeFamily* not_before_;
  exporters::GaugeFamily* info_;
  exporters::GaugeFamily* finding_;
  exporters::GaugeFamily* chain_valid_;
  exporters::GaugeFamily* target_certs_;
  exporters::GaugeFamily* scan_duration_;
  exporters::GaugeFamily* last_scan_;
  exporters::CounterFamily* scans_;
  exporters::GaugeFamily* files_;
  exporters::GaugeFamily* dirs_;
  exporters::GaugeFamily* certificates_;
  exporters::CounterFamily* read_errors_;
  exporters::GaugeFamily* reload_ok_;
  exporters::GaugeFamily* reload_ts_;
  exporters::GaugeFamily* build_info_;
  exporters::GaugeFamily* client_accepts_;
  exporters::GaugeFamily* probe_success_;
  exporters::GaugeFamily* probe_duration_;
  exporters::GaugeFamily* probe_tls_;
  exporters::GaugeFamily* probe_last_success_;
  exporters::CounterFamily* probes_;
  exporters::GaugeFamily* endpoints_;
  exporters::GaugeFamily* renewal_next_;
  exporters::GaugeFamily* renewal_last_success_;
  exporters::CounterFamily* renewals_;
  exporters::GaugeFamily* renewal_failures_;
  exporters::GaugeFamily* renewal_served_;
};

// 1 when the chain verifies to a trusted anchor and no critical chain.* finding is active.
bool chain_valid(const InventoryEntry& e);

}  // namespace certwatch::agent
