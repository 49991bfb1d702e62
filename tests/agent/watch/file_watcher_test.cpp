#include <utility>  // before asio

#include <boost/asio/io_context.hpp>
#include <algorithm>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

#include "agent/watch/file_watcher.h"
#include "support/fixtures.h"

using certwatch::agent::FileWatcher;
using certwatch::agent::FileWatcherOptions;
using certwatch::agent::WatchChanges;
using certwatch::agent::WatchRoot;
namespace fs = std::filesystem;

namespace {

// Runs a FileWatcher on a private io_context and records every batch it reports.
struct Harness {
  explicit Harness(std::vector<WatchRoot> roots, FileWatcherOptions opt = quick()) {
    watcher = std::make_shared<FileWatcher>(io, clock, opt, [this](WatchChanges c) {
      batches.push_back(std::move(c));
    });
    REQUIRE(watcher->start().ok());
    watcher->set_roots(std::move(roots));
  }
  ~Harness() {
    watcher->stop();
    io.restart();
    io.run_for(std::chrono::milliseconds(20));
  }
  static FileWatcherOptions quick() {
    FileWatcherOptions o;
    o.debounce = std::chrono::milliseconds(30);
    o.max_delay = std::chrono::milliseconds(300);
    o.rescan_interval = std::chrono::milliseconds(0);
    return o;
  }
  // Runs the loop until some batch satisfies `pred`, for at most 3 s.
  bool wait_for(const std::function<bool(const WatchChanges&)>& pred) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (std::chrono::steady_clock::now() < end) {
      for (const auto& b : batches)
        if (pred(b)) return true;
      io.restart();
      io.run_for(std::chrono::milliseconds(20));
    }
    return false;
  }
  bool saw(const fs::path& p) {
    return wait_for([&](const WatchChanges& b) { return b.paths.count(p) != 0; });
  }
  // Lets pending events arrive, then forgets everything seen so far.
  void settle() {
    io.restart();
    io.run_for(std::chrono::milliseconds(120));
    batches.clear();
  }

  boost::asio::io_context io;
  certwatch::agent::ManualClock clock{io, 1'000'000};  // drives the rescan interval
  std::shared_ptr<FileWatcher> watcher;
  std::vector<WatchChanges> batches;
};

}  // namespace

TEST_CASE("watcher sees create, modify, rename and delete", "[agent][watcher]") {
  testing::TempDir dir;
  Harness h({{dir.path(), false}});
  testing::write_file(dir / "a.pem", "one");
  CHECK(h.saw(dir / "a.pem"));
  h.settle();
  testing::write_file(dir / "a.pem", "two");
  CHECK(h.saw(dir / "a.pem"));
  h.settle();
  fs::rename(dir / "a.pem", dir / "b.pem");
  CHECK(h.saw(dir / "a.pem"));
  CHECK(h.saw(dir / "b.pem"));
  h.settle();
  fs::remove(dir / "b.pem");
  CHECK(h.saw(dir / "b.pem"));
}

TEST_CASE("watcher sees an atomic replace (temp file + rename)", "[agent][watcher]") {
  testing::TempDir dir;
  testing::write_file(dir / "server.pem", "old");
  Harness h({{dir.path(), false}});
  testing::write_file(dir / ".server.pem.tmp", "new");
  fs::rename(dir / ".server.pem.tmp", dir / "server.pem");
  CHECK(h.saw(dir / "server.pem"));
}

TEST_CASE("watcher sees a Kubernetes-style ..data symlink swap", "[agent][watcher]") {
  testing::TempDir dir;
  fs::create_directory(dir / "..2024_01");
  testing::write_file(dir / "..2024_01" / "tls.crt", "v1");
  fs::create_directory_symlink("..2024_01", dir / "..data");
  fs::create_symlink("..data/tls.crt", dir / "tls.crt");
  Harness h({{dir.path(), false}});
  fs::create_directory(dir / "..2024_02");
  testing::write_file(dir / "..2024_02" / "tls.crt", "v2");
  fs::create_directory_symlink("..2024_02", dir / "..data_tmp");
  fs::rename(dir / "..data_tmp", dir / "..data");
  fs::remove_all(dir / "..2024_01");
  // The visible name did not change; its directory is reported for a re-look.
  CHECK(h.saw(dir.path()));
  CHECK(testing::read_file(dir / "tls.crt") == "v2");
}

TEST_CASE("watcher picks up a directory that appears later", "[agent][watcher]") {
  testing::TempDir dir;
  const fs::path root = dir / "later" / "certs";
  Harness h({{root, false}});
  h.settle();
  fs::create_directory(dir / "later");
  fs::create_directory(root);
  CHECK(h.saw(root));
  h.settle();
  testing::write_file(root / "x.pem", "x");
  CHECK(h.saw(root / "x.pem"));
}

TEST_CASE("watcher follows new subdirectories of a recursive root", "[agent][watcher]") {
  testing::TempDir dir;
  Harness h({{dir.path(), true}});
  fs::create_directories(dir / "sub" / "deeper");
  testing::write_file(dir / "sub" / "deeper" / "x.pem", "x");
  CHECK(h.saw(dir / "sub"));
  h.settle();
  testing::write_file(dir / "sub" / "deeper" / "y.pem", "y");
  CHECK(h.saw(dir / "sub" / "deeper" / "y.pem"));
}

TEST_CASE("watcher re-watches a root that is deleted and recreated", "[agent][watcher]") {
  testing::TempDir dir;
  const fs::path root = dir / "certs";
  fs::create_directory(root);
  Harness h({{root, false}});
  fs::remove_all(root);
  CHECK(h.saw(root));
  h.settle();
  fs::create_directory(root);
  CHECK(h.saw(root));
  h.settle();
  testing::write_file(root / "again.pem", "x");
  CHECK(h.saw(root / "again.pem"));
}

TEST_CASE("watcher watches the parent of a file root", "[agent][watcher]") {
  testing::TempDir dir;
  const fs::path file = dir / "only.pem";
  Harness h({{file, false}});
  testing::write_file(file, "x");
  CHECK(h.saw(file));
}

TEST_CASE("watcher debounces a burst into few batches", "[agent][watcher]") {
  testing::TempDir dir;
  Harness h({{dir.path(), false}});
  for (int i = 0; i < 50; ++i) testing::write_file(dir / ("f" + std::to_string(i) + ".pem"), "x");
  CHECK(h.saw(dir / "f49.pem"));
  std::size_t total = 0;
  for (const auto& b : h.batches) total += b.paths.size();
  CHECK(total == 50);
  CHECK(h.batches.size() <= 5);
}

TEST_CASE("watcher asks for a periodic full rescan", "[agent][watcher]") {
  testing::TempDir dir;
  auto opt = Harness::quick();
  opt.rescan_interval = std::chrono::minutes(10);
  Harness h({{dir.path(), false}}, opt);
  // The interval runs on the injected clock: nothing before it moves, a rescan once it has.
  h.settle();
  h.clock.advance(std::chrono::minutes(9));
  h.io.restart();
  h.io.run_for(std::chrono::milliseconds(100));
  CHECK(std::none_of(h.batches.begin(), h.batches.end(), [](const WatchChanges& b) { return b.full_rescan; }));
  h.clock.advance(std::chrono::minutes(1));
  CHECK(h.wait_for([](const WatchChanges& b) { return b.full_rescan; }));
}
