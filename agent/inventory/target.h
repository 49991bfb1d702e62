// What the inventory is keyed by: a target is one thing watched, named by the kind of source
// that sees it and an id that is unique within that source. Files: the path. Endpoints (to
// come): "host:port" and the address probed. Ledger entries (to come): issuer and serial.
// The source kind is also the `source` label of every exported series.
#pragma once

#include <utility>

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

namespace certwatch::agent {

enum class SourceKind : uint8_t { file, endpoint, ledger };

// "file", "endpoint", "ledger": the metrics label and the API's word for the kind.
std::string_view to_string(SourceKind kind);

struct TargetId {
  SourceKind source = SourceKind::file;
  std::string id;
  // Ordered by source, then id: the targets of one source are contiguous and, for files,
  // every path under a directory follows the directory's own text.
  auto operator<=>(const TargetId&) const = default;
  bool operator==(const TargetId&) const = default;
};

inline TargetId file_target(std::string path) {
  return {SourceKind::file, std::move(path)};
}

// A finding's target as the labels say it: "path#3" of target "path" -> {"path", "3"}; the
// index is "" when the finding is about the whole target (or names another one, as a key
// file's finding may). Metrics and the status page split the same way, so a finding joins its
// certificate with on(source, target, index).
inline std::pair<std::string_view, std::string_view> split_finding_target(
    std::string_view target, std::string_view finding) {
  if (finding.size() > target.size() + 1 && finding.substr(0, target.size()) == target &&
      finding[target.size()] == '#')
    return {finding.substr(0, target.size()), finding.substr(target.size() + 1)};
  return {finding, {}};
}

}  // namespace certwatch::agent
