#include "agent/daemon/change_log.h"

#include <spdlog/spdlog.h>

namespace certwatch::agent {
namespace {

spdlog::level::level_enum level_of(pki::Severity s) {
  return s >= pki::Severity::unknown ? spdlog::level::warn : spdlog::level::info;
}

}  // namespace

InventoryListener make_change_log(std::function<bool()> quiet) {
  return [quiet = std::move(quiet)](const InventoryChange& c, const InventoryEntry*,
                                    const InventoryEntry*) {
    if (c.kind == ChangeKind::removed) return;  // the source says why it removed a target
    const bool q = quiet();
    const std::string& target = c.target.id;
    if (c.kind == ChangeKind::added && !q) spdlog::info("{}: new target", target);
    if (c.kind == ChangeKind::changed && c.certs_changed)
      spdlog::info("{}: certificates changed", target);
    for (const auto& f : c.raised) {
      if (q && f.severity != pki::Severity::critical) continue;
      spdlog::log(level_of(f.severity), "{}: {} [{}] {}", f.target, f.id,
                  pki::to_string(f.severity), f.message);
    }
    for (const auto& [before, after] : c.changed) {
      if (q && after.severity != pki::Severity::critical) continue;
      spdlog::log(level_of(after.severity), "{}: {} [{}] {} (was {})", after.target, after.id,
                  pki::to_string(after.severity), after.message, pki::to_string(before.severity));
    }
    for (const auto& f : c.cleared)
      if (!q) spdlog::info("{}: {} cleared", f.target, f.id);
  };
}

}  // namespace certwatch::agent
