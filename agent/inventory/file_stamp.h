// What the inventory keeps of a file to know it untouched: its stat stamp and the SHA-256 of
// its bytes. Filled by the file source (agent/watch/stable_read.h), compared by the rescan.
#pragma once

#include <array>
#include <cstdint>

namespace certwatch::agent {

// What stat says about a file; equal stamps mean "not touched" for the rescan's fast path.
struct FileStamp {
  uint64_t dev = 0;
  uint64_t ino = 0;
  int64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

using ContentHash = std::array<unsigned char, 32>;  // SHA-256 of the bytes

}  // namespace certwatch::agent
