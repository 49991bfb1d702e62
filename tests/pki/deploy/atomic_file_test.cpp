#include <catch2/catch.hpp>

#include <sys/stat.h>

#include "pki/deploy/atomic_file.h"
#include "support/fixtures.h"

using namespace certwatch;
using namespace certwatch::pki;
using testing::mode_of;
namespace fs = std::filesystem;

namespace {
size_t entries(const fs::path& dir) {
  size_t n = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}
}  // namespace

TEST_CASE("atomic write creates with the exact mode and replaces", "[pki][atomic_file]") {
  testing::TempDir tmp;
  const auto p = tmp / "server.key.pem";
  REQUIRE(write_file_atomic(p, "one", 0600).ok());
  CHECK(testing::read_file(p) == "one");
  CHECK(mode_of(p) == 0600);
  REQUIRE(write_file_atomic(p, "two", 0644).ok());
  CHECK(testing::read_file(p) == "two");
  CHECK(mode_of(p) == 0644);
  REQUIRE(write_file_atomic(p, "three", 0400).ok());
  CHECK(mode_of(p) == 0400);
  // A read-only target is replaced too: rename needs the directory's permission only.
  REQUIRE(write_file_atomic(p, "four", 0400).ok());
  CHECK(testing::read_file(p) == "four");
  CHECK(entries(tmp.path()) == 1);  // no temp file left
}

TEST_CASE("no-replace refuses an existing file and leaves it alone", "[pki][atomic_file]") {
  testing::TempDir tmp;
  const auto p = tmp / "a.pem";
  REQUIRE(write_file_atomic(p, "first", 0600, {.replace = false}).ok());
  auto r = write_file_atomic(p, "second", 0600, {.replace = false});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("exists") != std::string::npos);
  CHECK(r.error().kind == certwatch::ErrorKind::exists);  // what the issuer tests, not the text
  CHECK(testing::read_file(p) == "first");
  CHECK(entries(tmp.path()) == 1);
}

TEST_CASE("a failed write leaves nothing behind", "[pki][atomic_file]") {
  testing::TempDir tmp;
  auto r = write_file_atomic(tmp / "missing-dir" / "x.pem", "x", 0600);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("missing-dir") != std::string::npos);
  CHECK(entries(tmp.path()) == 0);
}

TEST_CASE("make_directories creates private parents", "[pki][atomic_file]") {
  testing::TempDir tmp;
  const auto d = tmp / "pki" / "root-ca" / "private";
  REQUIRE(make_directories(d, 0700).ok());
  CHECK(fs::is_directory(d));
  CHECK(mode_of(d) == 0700);
  CHECK(mode_of(tmp / "pki") == 0700);
  REQUIRE(make_directories(d, 0700).ok());  // idempotent
  testing::write_file(tmp / "file", "x");
  CHECK_FALSE(make_directories(tmp / "file", 0700).ok());
}

TEST_CASE("a file set is all or nothing without replace", "[pki][atomic_file]") {
  testing::TempDir tmp;
  testing::write_file(tmp / "b.pem", "old b");
  auto r = write_files_atomic({{tmp / "a.key", "new a", 0600}, {tmp / "b.pem", "new b", 0644},
                               {tmp / "c.pem", "new c", 0644}},
                              {.replace = false});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("b.pem exists") != std::string::npos);
  CHECK(r.error().kind == certwatch::ErrorKind::exists);
  CHECK_FALSE(fs::exists(tmp / "a.key"));  // created by this set, removed again
  CHECK(testing::read_file(tmp / "b.pem") == "old b");
  CHECK(entries(tmp.path()) == 1);  // no temp files either

  REQUIRE(write_files_atomic({{tmp / "a.key", "1", 0600}, {tmp / "b.pem", "2", 0644}}).ok());
  CHECK(testing::read_file(tmp / "a.key") == "1");
  CHECK(testing::read_file(tmp / "b.pem") == "2");
  CHECK(mode_of(tmp / "a.key") == 0600);
  CHECK(entries(tmp.path()) == 2);
}
