#include <catch2/catch.hpp>

#include <set>

#include "pki/finding.h"

TEST_CASE("catalogue ids are unique and carry DESIGN.md default severities", "[pki][finding]") {
  std::set<std::string_view> ids;
  for (const auto& k : pki::catalogue()) CHECK(ids.insert(k.id).second);
  pki::SeverityPolicy policy;
  CHECK(policy.severity_of("chain.order") == pki::Severity::critical);
  CHECK(policy.severity_of("chain.contains_root") == pki::Severity::info);
  CHECK(policy.severity_of("leaf.no_san") == pki::Severity::warning);
  CHECK(policy.severity_of("endpoint.stale") == pki::Severity::critical);
  policy.set("leaf.no_san", pki::Severity::critical);
  CHECK(policy.severity_of("leaf.no_san") == pki::Severity::critical);
}

TEST_CASE("nagios exit codes", "[pki][finding]") {
  using S = pki::Severity;
  auto f = [](S s) { return pki::Finding{"x", s, "t", "m"}; };
  CHECK(pki::nagios_exit_code(std::vector<pki::Finding>{}) == 0);
  CHECK(pki::nagios_exit_code(std::vector{f(S::info)}) == 0);
  CHECK(pki::nagios_exit_code(std::vector{f(S::info), f(S::warning)}) == 1);
  CHECK(pki::nagios_exit_code(std::vector{f(S::unknown), f(S::warning)}) == 3);
  CHECK(pki::nagios_exit_code(std::vector{f(S::unknown), f(S::critical)}) == 2);
}
