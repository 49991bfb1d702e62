// What the inventory is keyed by: a target is one thing watched, named by the kind of source
// that sees it and an id that is unique within that source. Files: the path. Endpoints:
// "host:port [address]". Ledger rows: "issuer/name/serial". Managed certificates:
// "managed/<name>". The source kind's word (to_string) is the `source` label of every
// exported series and the API's `source` field.
#pragma once

#include <utility>

#include <compare>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace certwatch::agent {

enum class SourceKind : uint8_t { file, endpoint, ledger, managed };
inline constexpr std::size_t kSourceKinds = 4;

// "file", "endpoint", "ledger": the metrics label and the API's word for the kind. A managed
// certificate says "ledger", as it did before it was a kind of its own: dashboards and
// alert rules select it by source="ledger" and target="managed/<name>".
std::string_view to_string(SourceKind kind);

// Where a kind sorts: managed and ledger targets share a rank, so that the API and /metrics
// list them interleaved by id as they were while they shared a kind.
constexpr int sort_rank(SourceKind kind) {
  return kind == SourceKind::managed ? static_cast<int>(SourceKind::ledger)
                                     : static_cast<int>(kind);
}

struct TargetId {
  SourceKind source = SourceKind::file;
  std::string id;
  // Ordered by source, then id: the targets of one source are contiguous and, for files,
  // every path under a directory follows the directory's own text.
  std::strong_ordering operator<=>(const TargetId& o) const {
    if (auto c = sort_rank(source) <=> sort_rank(o.source); c != 0) return c;
    if (auto c = id <=> o.id; c != 0) return c;
    return source <=> o.source;
  }
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
