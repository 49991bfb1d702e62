#include "agent/alerts/alert_feed.h"

#include <charconv>

#include "exporters/mqtt/topics.h"

namespace certwatch::agent {
namespace mq = exporters::mqtt;

mq::AlertInfo alert_info(const TargetId& target, const pki::Finding& f,
                         const InventoryEntry* entry) {
  mq::AlertInfo info;
  info.key = mq::alert_key(f.target, f.id);
  info.source = std::string(to_string(target.source));
  info.target = target.id;
  info.finding_target = f.target;
  info.id = f.id;
  info.severity = f.severity;
  info.message = f.message;
  if (entry == nullptr || entry->certs.empty()) return info;
  const pki::CertRecord* cert = entry->certs.front().get();
  const auto [whole, index] = split_finding_target(target.id, f.target);
  (void)whole;
  if (!index.empty()) {
    int i = -1;
    std::from_chars(index.data(), index.data() + index.size(), i);
    for (const auto& c : entry->certs)
      if (c->index == i) cert = c.get();
  }
  info.subject_cn = cert->subject_cn;
  info.serial = cert->serial;
  info.not_after = cert->not_after;
  return info;
}

void feed_alerts(mq::AlertBook& book, pki::Severity min_severity, const InventoryChange& change,
                 const InventoryEntry* fresh, int64_t now, std::vector<mq::AlertTransition>& out) {
  for (const auto& f : change.cleared) book.clear(mq::alert_key(f.target, f.id), now, out);
  for (const auto& [before, after] : change.changed) {
    if (after.severity >= min_severity)
      book.observe(alert_info(change.target, after, fresh), now, out);
    else
      book.clear(mq::alert_key(before.target, before.id), now, out);
  }
  for (const auto& f : change.raised)
    if (f.severity >= min_severity) book.observe(alert_info(change.target, f, fresh), now, out);
}

std::optional<mq::SensorView> sensor_view(const TargetId& target, const InventoryEntry* entry) {
  if (entry == nullptr) return std::nullopt;
  for (const auto& c : entry->certs) {
    if (c->role != pki::CertRole::leaf) continue;
    mq::SensorView v{.key = mq::sensor_key(target.id),
                     .source = std::string(to_string(target.source)),
                     .target = target.id,
                     .subject_cn = c->subject_cn,
                     .serial = c->serial,
                     .not_after = c->not_after,
                     .severity = "ok"};
    std::optional<pki::Severity> worst;
    for (const auto& f : entry->report.findings)
      if (!worst || f.severity > *worst) worst = f.severity;
    if (worst) v.severity = std::string(pki::to_string(*worst));
    return v;
  }
  return std::nullopt;
}

}  // namespace certwatch::agent
