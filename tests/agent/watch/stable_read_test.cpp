#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <atomic>
#include <ctime>
#include <filesystem>
#include <string>
#include <thread>

#include "agent/watch/stable_read.h"
#include "support/fixtures.h"

using certwatch::agent::RawRead;
using certwatch::agent::stable_read;
using certwatch::agent::StableReadOptions;

TEST_CASE("stable_read returns the content of a quiet file after two agreeing reads",
          "[agent][stable_read]") {
  testing::TempDir dir;
  testing::write_file(dir / "a.pem", "hello");
  // Quiet: last written a while ago (a file written this instant must settle first).
  std::filesystem::last_write_time(dir / "a.pem", std::filesystem::file_time_type::clock::now() -
                                                      std::chrono::seconds(10));
  auto r = stable_read(dir / "a.pem");
  REQUIRE(r.ok());
  CHECK(r->bytes == "hello");
  CHECK(r->attempts == 2);
  CHECK(r->stamp.size == 5);
  CHECK(r->hash == certwatch::agent::content_hash("hello"));
}

TEST_CASE("stable_read retries while the file changes and settles on the last version",
          "[agent][stable_read]") {
  // A scripted reader: versions 1, 2, then 3 forever (a writer that replaced the file twice
  // while we read).
  int calls = 0;
  StableReadOptions opt;
  opt.backoff = std::chrono::milliseconds(0);
  opt.reader = [&](const std::filesystem::path&, std::size_t) -> certwatch::Result<RawRead> {
    ++calls;
    return RawRead{"version " + std::to_string(std::min(calls, 3)), {}};
  };
  auto r = stable_read("unused", opt);
  REQUIRE(r.ok());
  CHECK(r->bytes == "version 3");
  CHECK(calls == 4);
}

TEST_CASE("stable_read gives up on a file that never stops changing", "[agent][stable_read]") {
  int calls = 0;
  StableReadOptions opt;
  opt.max_attempts = 4;
  opt.backoff = std::chrono::milliseconds(0);
  opt.reader = [&](const std::filesystem::path&, std::size_t) -> certwatch::Result<RawRead> {
    return RawRead{"v" + std::to_string(++calls), {}};
  };
  auto r = stable_read("busy.pem", opt);
  REQUIRE_FALSE(r.ok());
  CHECK(calls == 4);
  CHECK(r.error().message.find("kept changing") != std::string::npos);
}

TEST_CASE("stable_read never returns a mix while a writer replaces the file by rename",
          "[agent][stable_read]") {
  testing::TempDir dir;
  const std::string a(20000, 'a'), b(30000, 'b');
  testing::write_file(dir / "f.pem", a);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop && i < 100000; ++i) {
      testing::write_file(dir / "tmp", i % 2 ? a : b);
      std::filesystem::rename(dir / "tmp", dir / "f.pem");
    }
  });
  int good = 0;
  StableReadOptions no_settle;  // every version is a fresh file here; the point is "no mix"
  no_settle.settle = std::chrono::milliseconds(0);
  for (int i = 0; i < 200; ++i) {
    auto r = stable_read(dir / "f.pem", no_settle);
    if (r.ok()) {
      CHECK((r->bytes == a || r->bytes == b));
      ++good;
    }
  }
  stop = true;
  writer.join();
  CHECK(good > 0);
}

TEST_CASE("stable_read reports missing files, directories, FIFOs and oversized files",
          "[agent][stable_read]") {
  testing::TempDir dir;
  CHECK_FALSE(stable_read(dir / "missing.pem").ok());
  CHECK_FALSE(stable_read(dir.path()).ok());
  REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
  auto fifo = stable_read(dir / "fifo");  // must not block
  REQUIRE_FALSE(fifo.ok());
  CHECK(fifo.error().message.find("not a regular file") != std::string::npos);
  testing::write_file(dir / "big", std::string(2048, 'x'));
  StableReadOptions opt;
  opt.max_bytes = 1024;
  CHECK_FALSE(stable_read(dir / "big", opt).ok());
  std::filesystem::create_symlink("loop2", dir / "loop1");
  std::filesystem::create_symlink("loop1", dir / "loop2");
  auto loop = stable_read(dir / "loop1");
  REQUIRE_FALSE(loop.ok());
  CHECK(loop.error().message.find("symbolic links") != std::string::npos);
}

TEST_CASE("an in-place rewrite caught between truncate and write is not read as empty",
          "[agent][stable_read][hostile]") {
  // A writer truncating and rewriting every millisecond: two reads can both land in the empty
  // window; a file modified that recently is not believed until it settles.
  testing::TempDir dir;
  const std::string pem = "-----BEGIN CERTIFICATE-----\n" + std::string(64, 'A') + "\n-----END CERTIFICATE-----\n";
  testing::write_file(dir / "f.pem", pem);
  StableReadOptions opt;
  opt.backoff = std::chrono::milliseconds(0);
  int calls = 0;
  opt.reader = [&](const std::filesystem::path& p, std::size_t max) -> certwatch::Result<RawRead> {
    ++calls;
    auto r = certwatch::agent::read_file_once(p, max);
    if (r) {
      r->bytes.clear();  // what the reader saw just after the truncate...
      timespec now{};
      ::clock_gettime(CLOCK_REALTIME, &now);  // ...which had just set mtime
      r->stamp.mtime_ns = static_cast<int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
    }
    return r;
  };
  auto r = stable_read(dir / "f.pem", opt);
  REQUIRE_FALSE(r.ok());
  CHECK(certwatch::agent::is_unstable_read(r.error()));
  CHECK(calls == opt.max_attempts);
}
