#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <climits>
#include <functional>
#include <filesystem>
#include <limits>
#include <set>

#include "agent/inventory/rejudge_time.h"
#include "agent/watch/scanner.h"
#include "support/fixtures.h"

using namespace certwatch::agent;
namespace fs = std::filesystem;

namespace {

std::shared_ptr<const WatchContext> ctx(const fs::path& p, bool recursive, std::vector<std::string> exclude = {}) {
  auto c = std::make_shared<WatchContext>();
  c->entry.path = p;
  c->entry.recursive = recursive;
  c->entry.exclude = std::move(exclude);
  return c;
}

}  // namespace

TEST_CASE("scanner collects certificate-like files and keys, skips excluded names and Kubernetes internals",
          "[agent][scanner]") {
  testing::TempDir d;
  for (const char* f : {"a.pem", "b.crt", "server.key.pem", "tls.key", "README", "skip.pem"})
    testing::write_file(d / f, "x");
  fs::create_directories(d / "sub");
  testing::write_file(d / "sub" / "deep.pem", "x");
  fs::create_directory(d / "..2024_01");
  testing::write_file(d / "..2024_01" / "tls.crt", "x");
  fs::create_directory_symlink("..2024_01", d / "..data");
  fs::create_symlink("..data/tls.crt", d / "tls.crt");
  fs::create_directory_symlink(d.path(), d / "loop");  // a directory loop, never followed

  auto flat = collect_all_targets({ctx(d.path(), false, {"skip.*"})});
  std::set<std::string> names;
  for (const auto& [p, c] : flat) names.insert(p.lexically_relative(d.path()).string());
  // Keys are targets, as `certwatch check` walks them (their own findings, pairing).
  CHECK(names == std::set<std::string>{"a.pem", "b.crt", "server.key.pem", "tls.crt", "tls.key"});

  auto deep = collect_all_targets({ctx(d.path(), true)});
  CHECK(deep.count(d / "sub" / "deep.pem") == 1);
  CHECK(deep.count(d / "skip.pem") == 1);
  for (const auto& [p, c] : deep) CHECK(p.string().find("loop") == std::string::npos);

  // A scope inside the watch path: only what lies there.
  auto sub = collect_targets(d / "sub", {ctx(d.path(), true)});
  CHECK(sub.size() == 1);
  // A non-recursive entry does not claim files in subdirectories.
  CHECK(collect_targets(d / "sub" / "deep.pem", {ctx(d.path(), false)}).empty());
  CHECK(in_watch_scope(d / "sub", {ctx(d.path(), false)}));
  CHECK_FALSE(in_watch_scope("/elsewhere", {ctx(d.path(), false)}));
}

TEST_CASE("a file watch entry is a target even as a dangling link", "[agent][scanner]") {
  testing::TempDir d;
  fs::create_symlink(d / "missing.pem", d / "link.pem");
  auto t = collect_all_targets({ctx(d / "link.pem", false)});
  CHECK(t.size() == 1);
  ScanJob job;
  job.path = d / "link.pem";
  job.context = t.begin()->second;
  job.now = 1000;
  auto r = scan_file(job);
  CHECK(r.read_error);
  REQUIRE(r.entry.report.findings.size() == 1);
  CHECK(r.entry.report.findings[0].id == "input.unreadable");
}

TEST_CASE("next_rejudge_time finds the next threshold crossing", "[agent][scanner]") {
  certwatch::pki::Report r;
  certwatch::pki::CertRecord c;
  c.not_before = 0;
  c.not_after = 300 * 86400;  // lifetime 300 d: warning at 30 d left, critical at 7 d left
  r.certs.push_back(c);
  certwatch::pki::Thresholds t;
  CHECK(next_rejudge_time(r, t, 10) == 270 * 86400);
  CHECK(next_rejudge_time(r, t, 280 * 86400) == 293 * 86400);
  CHECK(next_rejudge_time(r, t, 299 * 86400) == 300 * 86400 + 1);
  CHECK(next_rejudge_time(r, t, 301 * 86400) == std::numeric_limits<int64_t>::max());
}

TEST_CASE("a directory symlink reported by an event is not followed, as in the full scan",
          "[agent][scanner][hostile]") {
  testing::TempDir d;
  fs::create_directories(d / "watched");
  fs::create_directories(d / "outside");
  testing::write_file(d / "outside" / "x.pem", "x");
  fs::create_directory_symlink(d / "outside", d / "watched" / "root");
  const auto c = ctx(d / "watched", true);
  CHECK(collect_all_targets({c}).empty());
  CHECK(collect_targets(d / "watched" / "root", {c}).empty());  // the live-event path
}

TEST_CASE("a directory beyond PATH_MAX is a target (reported unreadable), not silently dropped",
          "[agent][scanner][hostile]") {
  testing::TempDir d;
  // 20 levels of 250-byte names: 5,000 bytes, more than PATH_MAX (4096). Made level by level
  // through descriptors, as no path this long can be passed to mkdir(2).
  const std::string name(250, 'd');
  int fd = ::open(d.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  for (int i = 0; i < 20; ++i) {
    REQUIRE(::mkdirat(fd, name.c_str(), 0700) == 0);
    const int next = ::openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ::close(fd);
    REQUIRE(next >= 0);
    fd = next;
  }
  ::close(fd);
  const auto targets = collect_all_targets({ctx(d.path(), true)});
  REQUIRE(targets.size() == 1);
  const fs::path deep = targets.begin()->first;
  CHECK(deep.string().size() > PATH_MAX);
  ScanJob job;
  job.path = deep;
  job.context = targets.begin()->second;
  job.now = 1000;
  const ScanResult r = scan_file(job);
  REQUIRE(r.entry.report.findings.size() == 1);
  CHECK(r.entry.report.findings[0].id == "input.unreadable");
  CHECK(r.entry.report.findings[0].message.find("File name too long") != std::string::npos);
  // TempDir's cleanup cannot remove such a tree by path either: do it level by level.
  std::function<void(int)> remove_below = [&](int dirfd) {
    const int sub = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sub < 0) return;
    remove_below(sub);
    ::close(sub);
    ::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR);
  };
  const int top = ::open(d.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  remove_below(top);
  ::close(top);
}
