#include "exporters/mqtt/alert_state.h"

#include <algorithm>

namespace certwatch::exporters::mqtt {

std::string_view to_string(AlertEvent e) {
  switch (e) {
    case AlertEvent::raised:
      return "raised";
    case AlertEvent::severity_changed:
      return "severity_changed";
    case AlertEvent::cleared:
      return "cleared";
    case AlertEvent::reminder:
      return "reminder";
    case AlertEvent::updated:
      return "updated";
  }
  return "raised";
}

void AlertBook::emit(AlertEvent e, const Alert& a, std::optional<pki::Severity> previous,
                     int64_t now, std::vector<AlertTransition>& out) const {
  out.push_back(AlertTransition{e, a.info, previous, a.since, now});
}

void AlertBook::observe(AlertInfo info, int64_t now, std::vector<AlertTransition>& out) {
  auto it = alerts_.find(info.key);
  if (it == alerts_.end()) {
    std::string key = info.key;
    Alert a;
    a.info = std::move(info);
    a.since = a.notified_at = now;
    it = alerts_.emplace(std::move(key), std::move(a)).first;
    emit(AlertEvent::raised, it->second, std::nullopt, now, out);
    reschedule(it->second);
    return;
  }
  Alert& a = it->second;
  a.confirmed = true;
  const pki::Severity announced = a.info.severity;
  if (info.severity > announced || (info.severity < announced && timing_.hold <= 0)) {
    a.info = std::move(info);
    a.pending.reset();
    a.pending_clear = false;
    a.notified_at = now;
    emit(AlertEvent::severity_changed, a, announced, now, out);
  } else if (info.severity == announced) {
    // Back to what was announced: a pending downgrade or clear was a flap. The message's
    // wording (days left) and the count of places follow silently, with the next event (a CA
    // gaining its 100,000 places one file at a time is not 100,000 publishes); anything else
    // the retained alert says (its certificate, the places it lists, its renewal) is
    // published again at once.
    a.pending.reset();
    a.pending_clear = false;
    AlertInfo worded = a.info;
    worded.message = info.message;
    worded.places_total = info.places_total;
    const bool details = worded != info;
    a.info = std::move(info);
    if (details) emit(AlertEvent::updated, a, std::nullopt, now, out);
  } else if (a.pending_clear || !a.pending || a.pending->severity != info.severity) {
    a.pending = std::move(info);
    a.pending_clear = false;
    a.pending_since = now;
  } else {
    a.pending = std::move(info);  // the same lower severity again: its hold goes on
  }
  reschedule(a);
}

void AlertBook::clear(const std::string& key, int64_t now, std::vector<AlertTransition>& out) {
  auto it = alerts_.find(key);
  if (it == alerts_.end()) return;
  Alert& a = it->second;
  if (timing_.hold <= 0) {
    emit(AlertEvent::cleared, a, std::nullopt, now, out);
    erase(it);
    return;
  }
  if (!a.pending_clear) {
    a.pending.reset();
    a.pending_clear = true;
    a.pending_since = now;
  }
  reschedule(a);
}

void AlertBook::tick(int64_t now, std::vector<AlertTransition>& out) {
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    auto it = alerts_.find(deadlines_.begin()->second);
    deadlines_.erase(deadlines_.begin());
    if (it == alerts_.end()) continue;
    Alert& a = it->second;
    a.deadline = 0;
    if ((a.pending_clear || a.pending) && now >= a.pending_since + timing_.hold) {
      if (a.pending_clear) {
        emit(AlertEvent::cleared, a, std::nullopt, now, out);
        erase(it);
        continue;
      }
      const pki::Severity before = a.info.severity;
      a.info = std::move(*a.pending);
      a.pending.reset();
      a.notified_at = now;
      emit(AlertEvent::severity_changed, a, before, now, out);
    } else if (timing_.renotify > 0 && a.confirmed && now >= a.notified_at + timing_.renotify) {
      a.notified_at = now;
      emit(AlertEvent::reminder, a, std::nullopt, now, out);
    }
    reschedule(a);
  }
}

std::optional<int64_t> AlertBook::next_deadline() const {
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.begin()->first;
}

void AlertBook::restore(AlertInfo info, int64_t since, int64_t notified_at) {
  std::string key = info.key;
  Alert a;
  a.info = std::move(info);
  a.since = since;
  a.notified_at = notified_at;
  a.confirmed = false;
  auto [it, inserted] = alerts_.insert_or_assign(std::move(key), std::move(a));
  (void)inserted;
  reschedule(it->second);
}

void AlertBook::settle(int64_t now, std::vector<AlertTransition>& out) {
  settled_ = true;
  for (auto it = alerts_.begin(); it != alerts_.end();) {
    auto next = std::next(it);
    if (!it->second.confirmed) {
      emit(AlertEvent::cleared, it->second, std::nullopt, now, out);
      erase(it);
    }
    it = next;
  }
}

void AlertBook::reschedule(Alert& a) {
  if (a.deadline != 0) deadlines_.erase({a.deadline, a.info.key});
  int64_t d = 0;
  if (a.pending_clear || a.pending) d = a.pending_since + timing_.hold;
  if (timing_.renotify > 0 && a.confirmed) {
    const int64_t remind = a.notified_at + timing_.renotify;
    d = d == 0 ? remind : std::min(d, remind);
  }
  a.deadline = d;
  if (d != 0) deadlines_.emplace(d, a.info.key);
}

void AlertBook::erase(std::map<std::string, Alert>::iterator it) {
  if (it->second.deadline != 0) deadlines_.erase({it->second.deadline, it->second.info.key});
  alerts_.erase(it);
}

}  // namespace certwatch::exporters::mqtt
