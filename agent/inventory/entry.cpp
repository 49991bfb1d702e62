#include "agent/inventory/entry.h"

#include <charconv>

#include "agent/inventory/target.h"

namespace certwatch::agent {

const pki::CertRecord* named_certificate(const InventoryEntry& e, std::string_view target,
                                         std::string_view finding_target) {
  const std::string_view index = split_finding_target(target, finding_target).second;
  if (index.empty()) return nullptr;
  int i = 0;
  const auto [end, ec] = std::from_chars(index.data(), index.data() + index.size(), i);
  if (ec != std::errc() || end != index.data() + index.size()) return nullptr;
  for (const auto& cp : e.certs)
    if (cp->index == i) return cp.get();
  return nullptr;
}

}  // namespace certwatch::agent
