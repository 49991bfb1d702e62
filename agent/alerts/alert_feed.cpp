#include "agent/alerts/alert_feed.h"

#include "exporters/mqtt/topics.h"
#include "pki/judge/finding_scope.h"

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
  const pki::CertRecord* cert = named_certificate(*entry, target.id, f.target);
  if (cert == nullptr) cert = entry->certs.front().get();
  info.subject_cn = cert->subject_cn;
  info.serial = cert->serial;
  info.not_after = cert->not_after;
  return info;
}

mq::AlertInfo certificate_alert_info(const Certificate& cert, const pki::Finding& f) {
  const pki::CertRecord& c = *cert.record;
  mq::AlertInfo info;
  info.key = mq::certificate_alert_key(c.subject_cn, c.sha256, f.id);
  // The places, at most kAlertPlaces of them (a CA may live in 100,000 chain files): all of
  // them in order when they are that few, else the first that came; places_total says how many.
  std::vector<const Place*> shown;
  if (cert.places.size() <= mq::kAlertPlaces) {
    shown = cert.sorted_places();
  } else {
    for (std::size_t i = 0; i < mq::kAlertPlaces; ++i) shown.push_back(&cert.places[i]);
  }
  info.source = std::string(to_string(shown.front()->target().source));
  info.target = shown.front()->target().id;
  info.finding_target = f.target;
  info.id = f.id;
  info.severity = f.severity;
  info.message = f.message;
  info.subject_cn = c.subject_cn;
  info.serial = c.serial;
  info.not_after = c.not_after;
  info.fingerprint = c.sha256;
  info.places_total = cert.places.size();
  info.places.reserve(shown.size());
  for (const Place* p : shown)
    info.places.push_back({.source = std::string(to_string(p->target().source)),
                           .target = p->target().id,
                           .index = p->record().index});
  if (const ManagedState* s = cert.managed_state())
    info.renewal = mq::AlertRenewal{.managed = s->name,
                                    .due_at = s->due_at,
                                    .next_at = s->next_at,
                                    .failures = s->failures,
                                    .last_error = s->last_error};
  return info;
}

bool pages(const AlertPolicy& policy, const Certificate& cert, const pki::Finding& f, int64_t now) {
  if (f.severity < policy.min_severity) return false;
  if (policy.quiet_managed_expiry && f.id == pki::fid::cert_expires_soon &&
      f.severity == pki::Severity::warning)
    if (const ManagedState* m = cert.managed_state(); m != nullptr && m->healthy(now)) return false;
  return true;
}

void feed_certificate(mq::AlertBook& book, const AlertPolicy& policy,
                      const CertificateChange& change, int64_t now,
                      std::vector<mq::AlertTransition>& out) {
  if (!change.record) return;
  const std::string& cn = change.record->subject_cn;
  for (const auto& f : change.cleared)
    book.clear(mq::certificate_alert_key(cn, change.sha256, f.id), now, out);
  if (change.now == nullptr) return;
  // Every finding the certificate has now, not just the new ones: its places or its renewal
  // may have changed what the alert says or whether it pages. An unchanged alert is a no-op.
  for (const auto& f : change.now->findings())
    if (pages(policy, *change.now, f, now))
      book.observe(certificate_alert_info(*change.now, f), now, out);
    else
      book.clear(mq::certificate_alert_key(cn, change.sha256, f.id), now, out);
}

void feed_alerts(mq::AlertBook& book, const AlertPolicy& policy, const InventoryChange& change,
                 const InventoryEntry* fresh, int64_t now, std::vector<mq::AlertTransition>& out) {
  // The place's own findings; the certificate's own ones page once, below.
  const auto place = [](const pki::Finding& f) { return !pki::is_certificate_finding(f.id); };
  for (const auto& f : change.cleared)
    if (place(f)) book.clear(mq::alert_key(f.target, f.id), now, out);
  for (const auto& [before, after] : change.changed) {
    if (!place(after)) continue;
    if (after.severity >= policy.min_severity)
      book.observe(alert_info(change.target, after, fresh), now, out);
    else
      book.clear(mq::alert_key(before.target, before.id), now, out);
  }
  for (const auto& f : change.raised)
    if (place(f) && f.severity >= policy.min_severity)
      book.observe(alert_info(change.target, f, fresh), now, out);
  for (const auto& c : change.certificates) feed_certificate(book, policy, c, now, out);
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
