#include "exporters/gzip.h"

#include <catch2/catch.hpp>
#include <zlib.h>

#include <random>
#include <string>

#include "support/fixtures.h"

using certwatch::exporters::gzip_compress;
using certwatch::exporters::gzip_decompress;

namespace {

// Independent oracle: zlib's inflate driven directly in one call, gzip wrapper only
// (windowBits 15+16), into a buffer with room for `expected_size` bytes and a spare one.
std::string zlib_gunzip(const std::string& gz, std::size_t expected_size) {
  z_stream zs{};
  REQUIRE(inflateInit2(&zs, 15 + 16) == Z_OK);
  std::string out(expected_size + 1, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  zs.avail_in = static_cast<uInt>(gz.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  const uInt left = zs.avail_in;
  inflateEnd(&zs);
  CHECK(rc == Z_STREAM_END);
  CHECK(left == 0);
  return out;
}

std::string sample_metrics(std::size_t lines) {
  std::string s;
  for (std::size_t i = 0; i < lines; ++i)
    s += "certwatch_cert_not_after_timestamp_seconds{source=\"file\",target=\"/etc/ssl/" +
         std::to_string(i) + ".pem\",index=\"0\"} " + std::to_string(1700000000 + i) + "\n";
  return s;
}

}  // namespace

TEST_CASE("gzip round-trips through zlib's own inflate", "[exporters][gzip]") {
  std::mt19937 rng(42);
  std::string random_bytes(100000, '\0');
  for (auto& c : random_bytes) c = static_cast<char>(rng());
  const std::string inputs[] = {"", "x", sample_metrics(2000), random_bytes,
                                std::string(3u << 20, 'a')};
  for (const auto& in : inputs) {
    for (int level : {1, 6, 9}) {
      INFO("size " << in.size() << " level " << level);
      auto gz = gzip_compress(in, level);
      REQUIRE(gz.ok());
      REQUIRE(gz->size() >= 18);  // header + trailer
      CHECK(static_cast<unsigned char>((*gz)[0]) == 0x1f);
      CHECK(static_cast<unsigned char>((*gz)[1]) == 0x8b);
      // Parenthesised: a failure must not print megabytes.
      CHECK((zlib_gunzip(*gz, in.size()) == in));
      auto back = gzip_decompress(*gz);
      REQUIRE(back.ok());
      CHECK((*back == in));
    }
  }
  // Repetitive metrics text compresses well even at the fastest level.
  const auto text = sample_metrics(5000);
  CHECK(gzip_compress(text, 1)->size() * 5 < text.size());
}

TEST_CASE("gzip output is readable by the gzip program", "[exporters][gzip]") {
  REQUIRE(testing::have_program("gzip"));  // installed by scripts/setup.sh
  testing::TempDir dir;
  const std::string text = sample_metrics(500);
  testing::write_file(dir / "m.txt.gz", *gzip_compress(text));
  auto r = testing::run({"gzip", "-dc", (dir / "m.txt.gz").string()});
  CHECK(r.exit_code == 0);
  CHECK(r.out == text);
  // And the other way: gzip -c output decompresses with ours.
  testing::write_file(dir / "plain.txt", text);
  auto z = testing::run({"gzip", "-9c", (dir / "plain.txt").string()});
  REQUIRE(z.exit_code == 0);
  auto back = gzip_decompress(z.out);
  REQUIRE(back.ok());
  CHECK(*back == text);
}

TEST_CASE("gunzip rejects bad input and caps its output", "[exporters][gzip]") {
  const std::string text = sample_metrics(100);
  const std::string gz = *gzip_compress(text);
  CHECK_FALSE(gzip_decompress("").ok());
  CHECK_FALSE(gzip_decompress("not gzip at all").ok());
  CHECK_FALSE(gzip_decompress(gz.substr(0, gz.size() / 2)).ok());  // truncated
  std::string corrupt = gz;
  corrupt[corrupt.size() - 5] ^= 0x55;  // CRC32 or length of the trailer
  CHECK_FALSE(gzip_decompress(corrupt).ok());
  // Two members concatenated are one stream (RFC 1952 2.2).
  CHECK(*gzip_decompress(gz + gz) == text + text);
  // A bomb stops at the cap.
  const std::string bomb = *gzip_compress(std::string(8u << 20, '\0'), 9);
  auto capped = gzip_decompress(bomb, 1u << 20);
  REQUIRE_FALSE(capped.ok());
  CHECK(capped.error().message.find("exceeds") != std::string::npos);
  CHECK_FALSE(gzip_compress("x", 10).ok());
}
