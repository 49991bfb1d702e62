#include "agent/inventory/inventory.h"

#include <utility>

#include <algorithm>

namespace certwatch::agent {
namespace {

bool same_finding(const pki::Finding& a, const pki::Finding& b) {
  return a.id == b.id && a.target == b.target && a.severity == b.severity;
}

// Findings of `from` that have no equal in `in` (id, target, severity; messages may carry
// a changing "expires in N days" and do not make a new finding).
std::vector<pki::Finding> missing_from(const std::vector<pki::Finding>& from,
                                       const std::vector<pki::Finding>& in) {
  std::vector<pki::Finding> out;
  for (const auto& f : from)
    if (std::none_of(in.begin(), in.end(),
                     [&](const pki::Finding& g) { return same_finding(f, g); }))
      out.push_back(f);
  return out;
}

}  // namespace

InventoryChange diff_entries(const TargetId& target, const InventoryEntry* old,
                             const InventoryEntry* fresh) {
  static const std::vector<pki::Finding> none;
  InventoryChange c;
  c.target = target;
  const auto& old_f = old != nullptr ? old->report.findings : none;
  const auto& new_f = fresh != nullptr ? fresh->report.findings : none;
  c.raised = missing_from(new_f, old_f);
  c.cleared = missing_from(old_f, new_f);
  // A finding whose id and target stay but whose severity moved is a change, not a clear and
  // a raise: alerts update it in place.
  for (auto r = c.raised.begin(); r != c.raised.end();) {
    auto same = std::find_if(c.cleared.begin(), c.cleared.end(), [&](const pki::Finding& g) {
      return g.id == r->id && g.target == r->target;
    });
    if (same == c.cleared.end()) {
      ++r;
      continue;
    }
    c.changed.push_back({*same, *r});
    c.cleared.erase(same);
    r = c.raised.erase(r);
  }
  const std::size_t old_n = old != nullptr ? old->certs.size() : 0;
  const std::size_t new_n = fresh != nullptr ? fresh->certs.size() : 0;
  c.certs_changed = old_n != new_n;
  for (std::size_t i = 0; !c.certs_changed && i < new_n; ++i)
    c.certs_changed = old->certs[i]->sha256 != fresh->certs[i]->sha256;
  if (old == nullptr)
    c.kind = ChangeKind::added;
  else if (fresh == nullptr)
    c.kind = ChangeKind::removed;
  else if (c.certs_changed || !c.raised.empty() || !c.cleared.empty() || !c.changed.empty() ||
           old->report.trusted != fresh->report.trusted)
    c.kind = ChangeKind::changed;
  else
    c.kind = ChangeKind::unchanged;
  return c;
}

CertPtr Inventory::intern(const pki::CertRecord& record) {
  uint64_t h = std::hash<std::string>{}(record.sha256);
  h ^= static_cast<uint64_t>(record.role) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  h ^= static_cast<uint64_t>(record.index) * 0xff51afd7ed558ccdull;
  auto& slot = interned_[h];
  if (auto shared = slot.lock()) {
    // Every field, not just the identity: a ledger row's record (built from the row) must not
    // stand for the parsed certificate of a file, nor the other way round.
    if (*shared == record) return shared;
    return std::make_shared<const pki::CertRecord>(record);  // hash collision: keep apart
  }
  auto fresh = std::make_shared<const pki::CertRecord>(record);
  slot = fresh;
  return fresh;
}

InventoryEntry Inventory::prepare(InventoryEntry fresh) {
  if (fresh.report.certs.empty()) return fresh;
  InventoryEntry kept;
  kept.state = fresh.state;
  kept.rejudge_at = fresh.rejudge_at;
  kept.certs.reserve(fresh.report.certs.size());
  for (const auto& c : fresh.report.certs) kept.certs.push_back(intern(c));
  fresh.report.certs.clear();
  kept.report = fresh.report;  // a copy: allocated here
  // Forget interned slots whose records are gone (deleted files), now and then.
  if (interned_.size() > 2 * certificates_ + 4096)
    for (auto it = interned_.begin(); it != interned_.end();)
      it = it->second.expired() ? interned_.erase(it) : std::next(it);
  return kept;
}

void Inventory::tell(const InventoryChange& c, const InventoryEntry* old,
                     const InventoryEntry* fresh) const {
  for (const auto& l : listeners_) l(c, old, fresh);
}

InventoryChange Inventory::observe(const TargetId& target, InventoryEntry entry) {
  if (!entry.report.certs.empty()) entry = prepare(std::move(entry));
  auto it = entries_.find(target);
  // Messages (e.g. days left) and labels may differ even when the verdict does not: the
  // exported view changes with any new report, so the generation always moves.
  ++generation_;
  if (it == entries_.end()) {
    InventoryChange c = diff_entries(target, nullptr, &entry);
    certificates_ += entry.certs.size();
    ++targets_by_source_[static_cast<size_t>(target.source)];
    it = entries_.emplace(target, std::move(entry)).first;
    index_.update(&*it, nullptr, &it->second, c.certificates);
    tell(c, nullptr, &it->second);
    return c;
  }
  InventoryChange c = diff_entries(target, &it->second, &entry);
  InventoryEntry old = std::exchange(it->second, std::move(entry));
  certificates_ += it->second.certs.size();
  certificates_ -= old.certs.size();
  index_.update(&*it, &old, &it->second, c.certificates);
  tell(c, &old, &it->second);
  return c;
}

std::optional<InventoryChange> Inventory::remove(const TargetId& target) {
  auto it = entries_.find(target);
  if (it == entries_.end()) return std::nullopt;
  InventoryChange c = diff_entries(target, &it->second, nullptr);
  // The index lets go of the target's places while its node is alive; then listeners see the
  // inventory without it.
  index_.update(&*it, &it->second, nullptr, c.certificates);
  InventoryEntry old = std::move(it->second);
  entries_.erase(it);
  certificates_ -= old.certs.size();
  --targets_by_source_[static_cast<size_t>(target.source)];
  ++generation_;
  tell(c, &old, nullptr);
  return c;
}

SourceState* Inventory::source_state(const TargetId& target) {
  auto it = entries_.find(target);
  return it != entries_.end() ? &it->second.state : nullptr;
}

void Inventory::recheck_by(const TargetId& target, int64_t at) {
  if (auto it = entries_.find(target); it != entries_.end())
    it->second.rejudge_at = std::min(it->second.rejudge_at, at);
}

const InventoryEntry* Inventory::find(const TargetId& target) const {
  auto it = entries_.find(target);
  return it != entries_.end() ? &it->second : nullptr;
}

}  // namespace certwatch::agent
