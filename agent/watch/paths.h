// Path relations shared by the watcher, the scanner and the file source.
#pragma once

#include <filesystem>

namespace certwatch::agent {

// True if `p` is `base` or lies under it, lexically (no file system access): "/w/sub/x" is
// within "/w/sub", "/w/subway" is not.
inline bool is_within(const std::filesystem::path& p, const std::filesystem::path& base) {
  auto rel = p.lexically_relative(base);
  return !rel.empty() && *rel.begin() != "..";
}

}  // namespace certwatch::agent
