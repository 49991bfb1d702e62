// The alert state machine: turns the inventory's findings diff (raised, severity changed,
// cleared) into alert transitions for MQTT, with a minimum hold against flapping and a
// reminder every `renotify` while an alert stays active.
//
// Rules (times in POSIX seconds of the agent's clock):
// - A new alert, or a severity going up, is announced at once.
// - A severity going down, or a clear, is announced only when the lower state has held for
//   `hold`: a finding that comes back within the hold (a rewrite caught half-way, an endpoint
//   that answers every other probe) leaves the alert as it was, with no event. hold 0 = at once.
// - While active, a reminder every `renotify` after the last event about the alert.
// - Alerts restored from an earlier run (restore()) count as published; once the sources
//   have reported once (settle()), those not seen again are cleared at once: they went while
//   the agent was away.
//
// Thread-safety: none; the agent's io_context thread owns it.
#pragma once

#include <utility>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "pki/judge/finding.h"

namespace certwatch::exporters::mqtt {

// What an alert says about its finding and the certificate it concerns.
// One place of the certificate an alert is about.
struct AlertPlace {
  std::string source;  // "file", "endpoint", "ledger"
  std::string target;
  int index = 0;
  bool operator==(const AlertPlace&) const = default;
};

// The renewal of a managed certificate, on the alerts about that certificate.
struct AlertRenewal {
  std::string managed;  // the managed entry's name
  int64_t due_at = 0;   // 0: due now
  int64_t next_at = 0;
  int failures = 0;  // consecutive
  std::string last_error;
  bool operator==(const AlertRenewal&) const = default;
};

// The places an alert lists at most (the payload stays small; places_total says how many).
inline constexpr std::size_t kAlertPlaces = 10;

struct AlertInfo {
  // alert_key(finding_target, id) for a place's finding; certificate_alert_key(subject_cn,
  // fingerprint, id) for a certificate's own finding.
  std::string key;
  std::string source;          // "file", "endpoint", ...
  std::string target;          // the file path or host:port
  std::string finding_target;  // as the finding says it: "path#index" for one certificate
  std::string id;              // finding id
  pki::Severity severity = pki::Severity::warning;
  std::string message;
  std::string subject_cn;            // empty when the finding is about no one certificate
  std::string serial;                // upper-case hex, or empty
  std::optional<int64_t> not_after;  // of that certificate
  // A certificate's own finding: its fingerprint and every place that holds it (source and
  // target above are the first of them). Empty for a place's finding.
  std::string fingerprint;
  std::vector<AlertPlace> places;       // at most kAlertPlaces
  std::size_t places_total = 0;         // how many places held it when the alert was built
  std::optional<AlertRenewal> renewal;  // the certificate is managed
  bool operator==(const AlertInfo&) const = default;
};

// `updated`: the same alert at the same severity, but what it says changed other than the
// message's wording (its certificate, the places that hold it, its renewal): the retained
// alert is published again, without a message on `events`.
enum class AlertEvent { raised, severity_changed, cleared, reminder, updated };
std::string_view to_string(AlertEvent e);

struct AlertTransition {
  AlertEvent event = AlertEvent::raised;
  AlertInfo info;                         // the state after the transition (before, on clear)
  std::optional<pki::Severity> previous;  // on severity_changed
  int64_t since = 0;                      // when the alert was raised
  int64_t at = 0;                         // when this transition happened
};

struct AlertTiming {
  int64_t hold = 60;         // seconds a lower state must hold before it is announced
  int64_t renotify = 86400;  // seconds between reminders; 0 = none
};

class AlertBook {
 public:
  struct Alert {
    AlertInfo info;  // as last announced
    int64_t since = 0;
    int64_t notified_at = 0;  // last event about this alert (raise, change, reminder)
    bool confirmed = true;    // false: restored, not yet seen in this run
    // A lower severity (or a clear) waiting for the hold to pass.
    std::optional<AlertInfo> pending;
    bool pending_clear = false;
    int64_t pending_since = 0;
    int64_t deadline = 0;  // the next time tick() has work for this alert (0 = none)
  };

  explicit AlertBook(AlertTiming timing) : timing_(timing) {}

  // The finding `info.key` is present with `info.severity`.
  void observe(AlertInfo info, int64_t now, std::vector<AlertTransition>& out);
  // The finding `key` is gone.
  void clear(const std::string& key, int64_t now, std::vector<AlertTransition>& out);
  // Applies holds and reminders due at `now`.
  void tick(int64_t now, std::vector<AlertTransition>& out);
  // When tick() next has something to do, if ever.
  std::optional<int64_t> next_deadline() const;

  // An alert published by an earlier run (from the published-keys file), taken as announced.
  void restore(AlertInfo info, int64_t since, int64_t notified_at);
  // The sources have reported once: restored alerts not seen again clear now.
  void settle(int64_t now, std::vector<AlertTransition>& out);
  bool settled() const { return settled_; }

  const std::map<std::string, Alert>& alerts() const { return alerts_; }
  const AlertTiming& timing() const { return timing_; }

 private:
  void reschedule(Alert& a);
  void erase(std::map<std::string, Alert>::iterator it);
  void emit(AlertEvent e, const Alert& a, std::optional<pki::Severity> previous, int64_t now,
            std::vector<AlertTransition>& out) const;

  AlertTiming timing_;
  std::map<std::string, Alert> alerts_;
  std::set<std::pair<int64_t, std::string>> deadlines_;  // (deadline, key)
  bool settled_ = false;
};

}  // namespace certwatch::exporters::mqtt
