// The checks across entries of the config, run once every section was read: unique endpoint
// targets, watch paths, issuer and managed names; managed entries naming a known issuer.
#include <map>
#include <set>
#include <string>

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
}

}  // namespace certwatch::config::sections
