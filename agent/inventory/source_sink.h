// What a source reports besides its targets' entries: the timings and counts of its own work
// (scans, probes, renewals) that metrics, readiness and the MQTT events are made from. Every
// source reports to one SourceSink given at construction; the composition root implements it
// once, so a new consumer of these reports is wired in one place and no source knows who
// listens. Entries themselves go through Inventory::observe and its subscribers, not here.
// Every method has an empty default: a test's sink overrides only what it checks.
// Thread-safety: called on the io_context's thread, like the inventory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace certwatch::agent {

// Declared in agent/renew/transaction.h: a sink that reads it includes that header; the
// inventory layer only passes the reference through.
struct RenewOutcome;

class SourceSink {
 public:
  virtual ~SourceSink() = default;

  // Files: a full scan finished (initial, periodic, forced), with its wall time in seconds.
  // The first call of a run is the first scan's end (FileSource::first_scan_done()).
  virtual void scan_finished(double /*seconds*/) {}
  // Files: reads that failed (input.unreadable / input.malformed), as they happen.
  virtual void read_errors(std::size_t /*count*/) {}
  // Endpoints: a probe finished; how many of its addresses succeeded and failed (a name that
  // did not resolve counts as one failure).
  virtual void probes_finished(std::size_t /*successes*/, std::size_t /*failures*/) {}
  // Any source: targets changed outside a full scan (an event, a probe, a re-judge), so
  // counts of targets and certificates may have moved.
  virtual void settled() {}
  // Renewal: the schedule of one managed certificate, set or changed; and gone. `failures`:
  // consecutive failed attempts; `served`: 1 when the server was last seen serving the
  // deployed leaf, 0 when it served another one, -1 when nothing can be asked (no
  // verify_endpoint or expect_file endpoint) or it was not asked yet.
  virtual void renewal_scheduled(const std::string& /*name*/, int64_t /*next_at*/,
                                 int64_t /*last_success*/, int /*failures*/, int /*served*/) {}
  virtual void renewal_removed(const std::string& /*name*/) {}
  // Renewal: a transaction ended (one call per certificate it renewed).
  virtual void renewal_finished(const RenewOutcome& /*outcome*/) {}
};

}  // namespace certwatch::agent
