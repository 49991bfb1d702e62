#include "agent/inventory/entry.h"

#include <charconv>

#include "agent/inventory/target.h"

namespace certwatch::agent {

std::optional<std::size_t> named_position(const InventoryEntry& e, std::string_view target,
                                          std::string_view finding_target) {
  const std::string_view index = split_finding_target(target, finding_target).second;
  if (index.empty()) return std::nullopt;
  int i = 0;
  const auto [end, ec] = std::from_chars(index.data(), index.data() + index.size(), i);
  if (ec != std::errc() || end != index.data() + index.size()) return std::nullopt;
  // A file's records sit at their index unless one before failed to parse: look there first,
  // so that reading every finding of a file of N certificates costs O(N), not O(N²).
  if (i >= 0 && static_cast<std::size_t>(i) < e.certs.size() && e.certs[i]->index == i)
    return static_cast<std::size_t>(i);
  for (std::size_t p = 0; p < e.certs.size(); ++p)
    if (e.certs[p]->index == i) return p;
  return std::nullopt;
}

const pki::CertRecord* named_certificate(const InventoryEntry& e, std::string_view target,
                                         std::string_view finding_target) {
  const auto p = named_position(e, target, finding_target);
  return p ? e.certs[*p].get() : nullptr;
}

}  // namespace certwatch::agent
