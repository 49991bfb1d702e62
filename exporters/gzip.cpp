#include "exporters/gzip.h"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <climits>

namespace certwatch::exporters {
namespace {

constexpr int kGzipWindowBits = 15 + 16;     // 32 KiB window, gzip wrapper (zlib.h)
constexpr std::size_t kMaxChunk = UINT_MAX;  // z_stream counts in uInt

uInt chunk(std::size_t left) {
  return static_cast<uInt>(std::min(left, kMaxChunk));
}

certwatch::Error zlib_error(std::string_view what, int rc, const z_stream& zs) {
  return certwatch::make_error(
      fmt::format("{}: {}", what, zs.msg != nullptr ? zs.msg : zError(rc)));
}

// Own a deflate or inflate stream; ending one that was never initialised is a harmless no-op
// (its state is null).
struct DeflateStream {
  z_stream zs{};
  ~DeflateStream() { deflateEnd(&zs); }
};
struct InflateStream {
  z_stream zs{};
  ~InflateStream() { inflateEnd(&zs); }
};

}  // namespace

certwatch::Result<std::string> gzip_compress(std::string_view data, int level) {
  if (level < 0 || level > 9)
    return certwatch::make_error(fmt::format("gzip: bad level {}", level));
  DeflateStream s;  // initialised in place: zlib's state points back at its z_stream
  z_stream& zs = s.zs;
  if (int rc = deflateInit2(&zs, level, Z_DEFLATED, kGzipWindowBits, 8, Z_DEFAULT_STRATEGY);
      rc != Z_OK)
    return zlib_error("gzip: deflateInit2", rc, zs);

  std::string out;
  // deflateBound covers the gzip wrapper for the whole input when it fits in one call.
  out.resize(deflateBound(&zs, static_cast<uLong>(std::min(data.size(), kMaxChunk))) + 64);
  std::size_t in_pos = 0;
  std::size_t out_pos = 0;
  for (;;) {
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data() + in_pos));
    zs.avail_in = chunk(data.size() - in_pos);
    if (out_pos == out.size()) out.resize(out.size() * 2);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + out_pos);
    zs.avail_out = chunk(out.size() - out_pos);
    const uInt given_in = zs.avail_in;
    const uInt given_out = zs.avail_out;
    const bool last = data.size() - in_pos == given_in;
    const int rc = deflate(&zs, last ? Z_FINISH : Z_NO_FLUSH);
    in_pos += given_in - zs.avail_in;
    out_pos += given_out - zs.avail_out;
    if (rc == Z_STREAM_END) break;
    if (rc != Z_OK && rc != Z_BUF_ERROR) return zlib_error("gzip: deflate", rc, zs);
  }
  out.resize(out_pos);
  return out;
}

certwatch::Result<std::string> gzip_decompress(std::string_view data, std::size_t max_output) {
  InflateStream s;
  z_stream& zs = s.zs;
  if (int rc = inflateInit2(&zs, kGzipWindowBits); rc != Z_OK)
    return zlib_error("gunzip: inflateInit2", rc, zs);

  std::string out;
  char buf[64 * 1024];
  std::size_t in_pos = 0;
  bool in_member = false;  // inside a member that has not ended yet
  while (in_pos < data.size() || in_member) {
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data() + in_pos));
    zs.avail_in = chunk(data.size() - in_pos);
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    const uInt given_in = zs.avail_in;
    const int rc = inflate(&zs, Z_NO_FLUSH);
    in_pos += given_in - zs.avail_in;
    const std::size_t produced = sizeof buf - zs.avail_out;
    if (out.size() + produced > max_output)
      return certwatch::make_error(fmt::format("gunzip: output exceeds {} bytes", max_output));
    out.append(buf, produced);
    if (rc == Z_STREAM_END) {
      in_member = false;
      if (in_pos < data.size() && inflateReset(&zs) != Z_OK)
        return certwatch::make_error("gunzip: inflateReset failed");
      continue;
    }
    if (rc == Z_BUF_ERROR && produced == 0 && given_in == 0)
      return certwatch::make_error("gunzip: truncated input");
    if (rc != Z_OK && rc != Z_BUF_ERROR) return zlib_error("gunzip: inflate", rc, zs);
    in_member = true;
  }
  if (data.empty()) return certwatch::make_error("gunzip: empty input");
  return out;
}

}  // namespace certwatch::exporters
