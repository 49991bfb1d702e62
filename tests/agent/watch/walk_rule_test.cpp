// `certwatch check DIR` and a watched directory promise one rule (README, "check"): the two
// entry points walk one tree here and must select the same files.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "agent/watch/scanner.h"
#include "pki/load/dir_walk.h"
#include "support/fixtures.h"

namespace fs = std::filesystem;

namespace {

std::set<std::string> relative_names(const fs::path& base, const std::vector<fs::path>& paths) {
  std::set<std::string> out;
  for (const auto& p : paths) out.insert(p.lexically_relative(base).string());
  return out;
}

// A tree with every case the rule decides: nested directories, a symlinked file and a
// symlinked directory, a loop, Kubernetes internals, a hidden file, a dangling link, a FIFO
// and names that are not certificates.
void build_tree(const fs::path& d) {
  fs::create_directories(d / "a" / "b");
  testing::write_file(d / "top.pem", "x");
  testing::write_file(d / "a" / "mid.crt", "x");
  testing::write_file(d / "a" / "b" / "deep.der", "x");
  testing::write_file(d / "a" / "b" / "notes.txt", "x");
  testing::write_file(d / "ca.srl", "01");
  testing::write_file(d / ".hidden.pem", "x");
  testing::write_file(d / "skip-me.pem", "x");
  fs::create_directories(d / "outside");
  testing::write_file(d / "outside" / "far.pem", "x");
  fs::create_symlink(d / "a" / "mid.crt", d / "linked.pem");
  fs::create_directory_symlink(d / "outside", d / "a" / "dirlink");
  fs::create_directory_symlink(d, d / "a" / "b" / "loop");
  fs::create_symlink(d / "gone.pem", d / "dangling.pem");
  fs::create_directory(d / "..2024_01");
  testing::write_file(d / "..2024_01" / "tls.crt", "x");
  fs::create_directory_symlink("..2024_01", d / "..data");
  fs::create_symlink("..data/tls.crt", d / "tls.crt");
  REQUIRE(::mkfifo((d / "pipe.pem").c_str(), 0600) == 0);
}

}  // namespace

TEST_CASE("check's walk and the watcher's walk select the same files of one tree",
          "[agent][scanner][walk]") {
  testing::TempDir tmp;
  const fs::path d = tmp / "tree";
  fs::create_directories(d);
  build_tree(d);
  // "outside" is a real subdirectory here; the link to it must not add its file twice.
  const std::set<std::string> expected{
      ".hidden.pem",     "a/b/deep.der", "a/mid.crt",   "dangling.pem", "linked.pem",
      "outside/far.pem", "pipe.pem",     "skip-me.pem", "tls.crt",      "top.pem"};

  const std::vector<fs::path> roots{d};
  std::vector<fs::path> checked;
  for (const auto& e : certwatch::pki::walk_paths(roots)) checked.push_back(e.path);
  CHECK(relative_names(d, checked) == expected);

  auto ctx = std::make_shared<certwatch::agent::WatchContext>();
  ctx->entry.path = d;
  ctx->entry.recursive = true;
  std::vector<fs::path> watched;
  for (const auto& [p, c] : certwatch::agent::collect_all_targets({ctx})) watched.push_back(p);
  CHECK(relative_names(d, watched) == expected);

  // The watch entry's excludes are the one knob check does not have; both honour the rule's.
  ctx->entry.exclude = {"skip-*"};
  std::vector<fs::path> excluded;
  for (const auto& [p, c] : certwatch::agent::collect_all_targets({ctx})) excluded.push_back(p);
  CHECK(relative_names(d, excluded).count("skip-me.pem") == 0);
  CHECK(relative_names(d, excluded).size() == expected.size() - 1);
}

TEST_CASE("the watcher's inotify set is the directories the walk enters", "[agent][walk]") {
  testing::TempDir tmp;
  const fs::path d = tmp / "tree";
  fs::create_directories(d);
  build_tree(d);
  const auto dirs = certwatch::pki::walked_dirs(d, true);
  CHECK(relative_names(d, dirs) == std::set<std::string>{".", "a", "a/b", "outside"});
  CHECK(certwatch::pki::walked_dirs(d, false) == std::vector<fs::path>{d});
}
