#include "agent/inventory.h"

#include <algorithm>

namespace certwatch::agent {
namespace {

bool is_within(const std::filesystem::path& p, const std::filesystem::path& base) {
  auto rel = p.lexically_relative(base);
  return !rel.empty() && *rel.begin() != "..";
}

bool same_finding(const pki::Finding& a, const pki::Finding& b) {
  return a.id == b.id && a.target == b.target && a.severity == b.severity;
}

// Findings of `from` that have no equal in `in` (id, target, severity; messages may carry
// a changing "expires in N days" and do not make a new finding).
std::vector<pki::Finding> missing_from(const std::vector<pki::Finding>& from,
                                       const std::vector<pki::Finding>& in) {
  std::vector<pki::Finding> out;
  for (const auto& f : from)
    if (std::none_of(in.begin(), in.end(), [&](const pki::Finding& g) { return same_finding(f, g); }))
      out.push_back(f);
  return out;
}

}  // namespace

InventoryChange diff_reports(const std::string& target, const pki::Report* old_report,
                             const pki::Report* new_report) {
  static const std::vector<pki::Finding> none;
  InventoryChange c;
  c.target = target;
  const auto& old_f = old_report != nullptr ? old_report->findings : none;
  const auto& new_f = new_report != nullptr ? new_report->findings : none;
  c.raised = missing_from(new_f, old_f);
  c.cleared = missing_from(old_f, new_f);
  const std::size_t old_n = old_report != nullptr ? old_report->certs.size() : 0;
  const std::size_t new_n = new_report != nullptr ? new_report->certs.size() : 0;
  c.certs_changed = old_n != new_n;
  for (std::size_t i = 0; !c.certs_changed && i < new_n; ++i)
    c.certs_changed = old_report->certs[i].sha256 != new_report->certs[i].sha256;
  if (old_report == nullptr)
    c.kind = ChangeKind::added;
  else if (new_report == nullptr)
    c.kind = ChangeKind::removed;
  else if (c.certs_changed || !c.raised.empty() || !c.cleared.empty() ||
           old_report->trusted != new_report->trusted)
    c.kind = ChangeKind::changed;
  else
    c.kind = ChangeKind::unchanged;
  return c;
}

InventoryChange Inventory::observe(const std::string& target, InventoryEntry entry) {
  auto it = entries_.find(target);
  InventoryChange c = diff_reports(target, it != entries_.end() ? &it->second.report : nullptr,
                                   &entry.report);
  // Messages (e.g. days left) and labels may differ even when the verdict does not: the
  // exported view changes with any new report, so the generation always moves.
  ++generation_;
  if (it != entries_.end()) {
    certificates_ -= it->second.report.certs.size();
    it->second = std::move(entry);
    certificates_ += it->second.report.certs.size();
  } else {
    certificates_ += entry.report.certs.size();
    entries_.emplace(target, std::move(entry));
  }
  return c;
}

std::optional<InventoryChange> Inventory::remove(const std::string& target) {
  auto it = entries_.find(target);
  if (it == entries_.end()) return std::nullopt;
  InventoryChange c = diff_reports(target, &it->second.report, nullptr);
  certificates_ -= it->second.report.certs.size();
  entries_.erase(it);
  ++generation_;
  return c;
}

std::vector<InventoryChange> Inventory::remove_under(const std::filesystem::path& path) {
  std::vector<InventoryChange> out;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (is_within(it->first, path)) {
      out.push_back(diff_reports(it->first, &it->second.report, nullptr));
      certificates_ -= it->second.report.certs.size();
      it = entries_.erase(it);
      ++generation_;
    } else {
      ++it;
    }
  }
  return out;
}

bool Inventory::same_stamp(const std::string& target, const FileStamp& stamp) const {
  auto it = entries_.find(target);
  return it != entries_.end() && it->second.read_ok && it->second.stamp == stamp;
}

bool Inventory::same_content(const std::string& target, const ContentHash& hash) const {
  auto it = entries_.find(target);
  return it != entries_.end() && it->second.read_ok && it->second.hash == hash;
}

void Inventory::update_stamp(const std::string& target, const FileStamp& stamp) {
  auto it = entries_.find(target);
  if (it != entries_.end()) it->second.stamp = stamp;
}

const InventoryEntry* Inventory::find(const std::string& target) const {
  auto it = entries_.find(target);
  return it != entries_.end() ? &it->second : nullptr;
}

}  // namespace certwatch::agent
