// gzip (RFC 1952) with zlib, for HTTP responses sent with `Content-Encoding: gzip`, and its
// inverse for tests and for reading compressed input with a size cap.
//
// Thread-safety: the functions keep no state; call them from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/result.h"

namespace certwatch::exporters {

// zlib levels: 1 is the fastest, 9 the smallest. Scrapes are mostly repeated label text, where
// level 1 already gives ~10x at a fraction of the CPU of the default level 6.
inline constexpr int kGzipFastest = 1;
inline constexpr int kGzipDefaultLevel = kGzipFastest;

// Compresses `data` into a complete gzip member. Fails only on a bad level or when zlib runs
// out of memory.
certwatch::Result<std::string> gzip_compress(std::string_view data, int level = kGzipDefaultLevel);

// Decompresses one or more concatenated gzip members; fails on corrupt or truncated input,
// or when the output would exceed `max_output` bytes (a zip bomb stops there).
certwatch::Result<std::string> gzip_decompress(std::string_view data,
                                               std::size_t max_output = 256u << 20);

}  // namespace certwatch::exporters
