// The checks across entries of the config, run once every section was read: unique endpoint
// targets, watch paths, issuer and managed names; managed entries naming a known issuer; no
// file written by two managed outputs.
#include <array>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <system_error>

#include "config/loader_sections.h"

namespace certwatch::config::sections {

namespace fs = std::filesystem;

void check_unique_endpoints(YamlReader& r, const Config& c, const std::vector<Field>& fields) {
  std::map<std::string, size_t> first;
  for (size_t i = 0; i < c.endpoints.size(); ++i) {
    if (c.endpoints[i].target.host.empty()) continue;
    const std::string t = c.endpoints[i].target.to_string();
    auto [it, inserted] = first.emplace(t, i);
    if (inserted) continue;
    const Field& f = fields[i];
    const YAML::Mark mark = f.value.IsMap() && f.value["target"]
                                ? Field{"", f.value["target"], f.key_mark}.mark()
                                : f.key_mark;
    r.problem(mark, f.where + ".target: duplicate endpoint " + t + " (also " +
                        fields[it->second].where + ")");
  }
}

namespace {

// Two managed outputs that are one file: the later deploy silently replaces the earlier one
// while both entries report "deployed" (issue 22, item 4). Paths arrive absolute and lexically
// normalised; a symlinked directory is followed too (weakly_canonical of the parent, cached per
// directory: 40k entries mostly share a few). The file name itself is not resolved: a deploy
// renames over it, so a symlinked file is replaced, not followed.
void check_managed_outputs(YamlReader& r, const Config& c, const std::vector<Field>& managed_fields,
                           const std::function<YAML::Mark(const Field&, std::string_view)>& mark) {
  struct Output {
    size_t entry;
    std::string_view role;
  };
  std::map<fs::path, fs::path> real_dirs;
  auto identity = [&](const fs::path& p) {
    auto [it, inserted] = real_dirs.try_emplace(p.parent_path());
    if (inserted) {
      std::error_code ec;
      auto real = fs::weakly_canonical(it->first, ec);
      it->second = ec ? it->first : real.lexically_normal();
    }
    return it->second / p.filename();
  };
  std::map<fs::path, Output> written;
  for (size_t i = 0; i < c.managed.size(); ++i) {
    const auto& e = c.managed[i];
    const std::array<std::pair<std::string_view, const fs::path*>, 3> outputs{
        {{"cert", &e.cert}, {"key", &e.key}, {"chain", e.chain ? &*e.chain : nullptr}}};
    for (const auto& [role, path] : outputs) {
      if (path == nullptr || path->empty()) continue;
      const fs::path id = identity(*path);
      auto [it, inserted] = written.try_emplace(id, Output{i, role});
      if (inserted) continue;
      const auto& first = it->second;
      const Field& f = managed_fields[i];
      const std::string name = "'" + e.name + "'";
      std::string msg = f.where + "." + std::string(role) + ": ";
      if (first.entry == i)
        msg += name + " writes " + path->string() + " as both " + std::string(first.role) +
               " and " + std::string(role);
      else
        msg += name + " and '" + c.managed[first.entry].name + "' (" +
               managed_fields[first.entry].where + "." + std::string(first.role) + ") both write " +
               path->string();
      if (id != *path) msg += " (as " + id.string() + ")";
      msg += ": one would overwrite the other";
      r.problem(mark(f, role), msg);
    }
  }
}

}  // namespace

void cross_check(YamlReader& r, const Config& c, const std::vector<Field>& watch_fields,
                 const std::vector<Field>& issuer_fields,
                 const std::vector<Field>& managed_fields) {
  auto field_mark = [](const Field& f, std::string_view key) {
    return f.value.IsMap() && f.value[std::string(key)]
               ? Field{"", f.value[std::string(key)], f.key_mark}.mark()
               : f.key_mark;
  };
  // First occurrence of each path and name, in ordered sets: O(n log n) for 40k entries.
  std::map<fs::path, size_t> first_watch;
  for (size_t i = 0; i < c.watch.size(); ++i) {
    if (c.watch[i].path.empty()) continue;
    auto [it, inserted] = first_watch.emplace(c.watch[i].path, i);
    if (!inserted)
      r.problem(field_mark(watch_fields[i], "path"),
                watch_fields[i].where + ".path: duplicate watch path " + c.watch[i].path.string() +
                    " (also " + watch_fields[it->second].where + ")");
  }
  std::vector<std::string_view> issuer_names;
  std::set<std::string_view> issuer_set;
  for (size_t i = 0; i < c.issuers.size(); ++i) {
    const auto& name = c.issuers[i].name;
    if (!name.empty() && !issuer_set.insert(name).second)
      r.problem(field_mark(issuer_fields[i], "name"),
                issuer_fields[i].where + ".name: duplicate issuer name '" + name + "'");
    issuer_names.push_back(name);
  }
  std::set<std::string_view> managed_names;
  for (size_t i = 0; i < c.managed.size(); ++i) {
    const auto& e = c.managed[i];
    if (!e.name.empty() && !managed_names.insert(e.name).second)
      r.problem(field_mark(managed_fields[i], "name"),
                managed_fields[i].where + ".name: duplicate managed name '" + e.name + "'");
    if (!e.issuer.empty() && issuer_set.count(e.issuer) == 0) {
      std::string msg = managed_fields[i].where + ".issuer: no issuer named '" + e.issuer + "'";
      if (auto best = closest_match(e.issuer, issuer_names); !best.empty())
        msg += " (did you mean '" + best + "'?)";
      else if (issuer_names.empty())
        msg += " (the issuers section is empty)";
      r.problem(field_mark(managed_fields[i], "issuer"), msg);
    }
  }
  check_managed_outputs(r, c, managed_fields, field_mark);
}

}  // namespace certwatch::config::sections
