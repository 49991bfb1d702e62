#include <catch2/catch.hpp>

#include <set>

#include "pki/judge/finding.h"

TEST_CASE("catalogue ids are unique and carry DESIGN.md default severities", "[pki][finding]") {
  std::set<std::string_view> ids;
  for (const auto& k : certwatch::pki::catalogue()) CHECK(ids.insert(k.id).second);
  certwatch::pki::SeverityPolicy policy;
  CHECK(policy.severity_of("chain.order") == certwatch::pki::Severity::critical);
  CHECK(policy.severity_of("chain.contains_root") == certwatch::pki::Severity::info);
  CHECK(policy.severity_of("leaf.no_san") == certwatch::pki::Severity::warning);
  CHECK(policy.severity_of("endpoint.stale") == certwatch::pki::Severity::critical);
  policy.set("leaf.no_san", certwatch::pki::Severity::critical);
  CHECK(policy.severity_of("leaf.no_san") == certwatch::pki::Severity::critical);
}

TEST_CASE("nagios exit codes", "[pki][finding]") {
  using S = certwatch::pki::Severity;
  auto f = [](S s) { return certwatch::pki::Finding{"x", s, "t", "m"}; };
  CHECK(certwatch::pki::nagios_exit_code(std::vector<certwatch::pki::Finding>{}) == 0);
  CHECK(certwatch::pki::nagios_exit_code(std::vector{f(S::info)}) == 0);
  CHECK(certwatch::pki::nagios_exit_code(std::vector{f(S::info), f(S::warning)}) == 1);
  CHECK(certwatch::pki::nagios_exit_code(std::vector{f(S::unknown), f(S::warning)}) == 3);
  CHECK(certwatch::pki::nagios_exit_code(std::vector{f(S::unknown), f(S::critical)}) == 2);
}
