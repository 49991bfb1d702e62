// The shipped rules and dashboard name the certificate's own finding ids in a regex (PromQL
// cannot ask pki::scope_of). This keeps every copy of that regex equal to the catalogue's
// certificate-scope ids: a finding moved between scopes in pki/judge/finding_scope.cpp fails
// here until the rules and the dashboard follow.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "pki/judge/finding.h"
#include "pki/judge/finding_scope.h"

namespace {

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  REQUIRE(in.good());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every "cert.(a|b)|leaf.(c)|ca.(d)" alternation in `text` (backslashes of the YAML or JSON
// escaping removed), each as the set of ids it names. A "cert.(...)" alone is another list
// (the expiry ids of a panel) and is not one of these.
std::vector<std::set<std::string>> certificate_id_sets(std::string text) {
  std::erase(text, '\\');
  std::vector<std::set<std::string>> out;
  for (auto at = text.find("cert.("); at != std::string::npos; at = text.find("cert.(", at + 1)) {
    std::set<std::string> ids;
    std::size_t p = at;
    int families = 0;
    for (const std::string family : {"cert", "leaf", "ca"}) {
      if (text.compare(p, family.size() + 2, family + ".(") != 0) break;
      ++families;
      p += family.size() + 2;
      const auto close = text.find(')', p);
      std::stringstream names(text.substr(p, close - p));
      for (std::string n; std::getline(names, n, '|');) ids.insert(family + "." + n);
      p = close + 1;
      if (p < text.size() && text[p] == '|') ++p;
    }
    if (families == 3) out.push_back(ids);
  }
  return out;
}

}  // namespace

TEST_CASE("rules and dashboard name exactly the catalogue's certificate-scope finding ids",
          "[exporters][prometheus]") {
  std::set<std::string> expected;
  for (auto id : certwatch::pki::fid::kAllIds)
    if (certwatch::pki::is_certificate_finding(id)) expected.emplace(id);
  const std::filesystem::path src = CERTWATCH_SOURCE_DIR;
  for (const auto& file : {src / "exporters/prometheus/certwatch-rules.yml",
                           src / "exporters/grafana/certwatch.json"}) {
    const auto sets = certificate_id_sets(read_text(file));
    INFO(file);
    CHECK(sets.size() >= 2);
    for (const auto& s : sets) CHECK(s == expected);
  }
}
