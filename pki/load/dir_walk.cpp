#include "pki/load/dir_walk.h"

#include <fnmatch.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <set>

namespace certwatch::pki {
namespace fs = std::filesystem;

bool certificate_like_name(const fs::path& p) {
  static constexpr std::array<std::string_view, 11> kExt{
      ".pem", ".crt", ".cer", ".cert", ".der", ".key", ".p7b", ".p7c", ".chain", ".bundle", ".p8"};
  const std::string ext = p.extension().string();
  std::string lower;
  for (char c : ext) lower.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
  return std::find(kExt.begin(), kExt.end(), lower) != kExt.end();
}

bool internal_name(std::string_view file_name) {
  return file_name.size() >= 2 && file_name.compare(0, 2, "..") == 0;
}

bool selected_in_dir(const fs::path& file, std::span<const std::string> exclude) {
  const std::string name = file.filename().string();
  if (internal_name(name) || !certificate_like_name(file)) return false;
  return std::none_of(exclude.begin(), exclude.end(), [&](const std::string& glob) {
    return ::fnmatch(glob.c_str(), name.c_str(), 0) == 0;
  });
}

namespace {

struct DirId {
  dev_t dev;
  ino_t ino;
  auto operator<=>(const DirId&) const = default;
};

// One walk: the directories already entered (by device and inode) and what was found.
// `files == nullptr` collects directories only (the watcher's inotify set).
class Walker {
 public:
  Walker(const WalkRules& rules, std::vector<WalkEntry>* files, std::vector<fs::path>* dirs)
      : rules_(rules), files_(files), dirs_(dirs) {}

  // False if `dir` was entered before.
  bool first_visit(const fs::path& dir) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) return true;  // listing it reports why
    return seen_.insert(DirId{st.st_dev, st.st_ino}).second;
  }

  void walk(const fs::path& dir) {
    if (dirs_ != nullptr) dirs_->push_back(dir);
    std::error_code ec;
    std::vector<fs::directory_entry> children;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
      children.push_back(*it);
    if (ec) {
      if (files_ != nullptr)
        files_->push_back(
            {dir, false, make_error(dir.string() + ": " + ec.message(), ErrorKind::io)});
      return;
    }
    std::sort(children.begin(), children.end(),
              [](const auto& a, const auto& b) { return a.path() < b.path(); });
    for (const auto& child : children) visit(child);
  }

 private:
  void visit(const fs::directory_entry& child) {
    const fs::path& p = child.path();
    if (internal_name(p.filename().string())) return;
    // The entry's type comes from the listing (d_type): no system call for plain files, and
    // none that a path beyond PATH_MAX would fail.
    std::error_code ec;
    const bool link = child.is_symlink(ec);
    if (!link && child.is_directory(ec)) {
      if (rules_.recursive && first_visit(p)) walk(p);
      return;
    }
    if (files_ == nullptr || !selected_in_dir(p, rules_.exclude)) return;
    if (link) {
      struct stat st {};
      if (::stat(p.c_str(), &st) != 0) {
        files_->push_back(
            {p, false, make_error(p.string() + ": " + std::strerror(errno), ErrorKind::io)});
        return;
      }
      if (S_ISDIR(st.st_mode)) return;  // links to directories are never followed
    }
    files_->push_back({p, false, std::nullopt});
  }

  const WalkRules& rules_;
  std::vector<WalkEntry>* files_;
  std::vector<fs::path>* dirs_;
  std::set<DirId> seen_;
};

}  // namespace

std::vector<WalkEntry> walk_dir(const fs::path& dir, const WalkRules& rules) {
  std::vector<WalkEntry> out;
  Walker w(rules, &out, nullptr);
  if (w.first_visit(dir)) w.walk(dir);
  return out;
}

std::vector<fs::path> walked_dirs(const fs::path& dir, bool recursive) {
  std::vector<fs::path> out;
  const WalkRules rules{recursive, {}};
  Walker w(rules, nullptr, &out);
  if (w.first_visit(dir)) w.walk(dir);
  return out;
}

std::vector<WalkEntry> walk_paths(std::span<const fs::path> roots) {
  std::vector<WalkEntry> out;
  const WalkRules rules;  // recursive, nothing excluded
  Walker w(rules, &out, nullptr);
  for (const auto& root : roots) {
    struct stat st {};
    if (::stat(root.c_str(), &st) != 0) {
      out.push_back(
          {root, true, make_error(root.string() + ": " + std::strerror(errno), ErrorKind::io)});
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      if (w.first_visit(root)) w.walk(root);
    } else {
      out.push_back({root, true, std::nullopt});
    }
  }
  return out;
}

}  // namespace certwatch::pki
