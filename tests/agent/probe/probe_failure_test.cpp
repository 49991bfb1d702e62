// The one mapping from a probe failure to its finding: the ids are catalogue contracts
// (DESIGN.md, endpoint.*), so each is spelled out here rather than read back from the mapping.
#include "agent/probe/probe_failure.h"

#include <catch2/catch.hpp>
#include <string>

using certwatch::agent::probe::describe;
using certwatch::agent::probe::finding_id;
using certwatch::agent::probe::ProbeFailure;

TEST_CASE("each probe failure is one catalogue finding", "[agent][probe]") {
  CHECK(std::string(finding_id(ProbeFailure::none)).empty());
  CHECK(std::string(finding_id(ProbeFailure::resolve)) == "endpoint.unreachable");
  CHECK(std::string(finding_id(ProbeFailure::connect)) == "endpoint.unreachable");
  CHECK(std::string(finding_id(ProbeFailure::starttls)) == "endpoint.protocol_failed");
  CHECK(std::string(finding_id(ProbeFailure::handshake)) == "endpoint.handshake_failed");
  CHECK(std::string(finding_id(ProbeFailure::exchange)) == "endpoint.protocol_failed");
}

TEST_CASE("each probe failure has words of its own", "[agent][probe]") {
  CHECK(std::string(describe(ProbeFailure::none)).empty());
  const ProbeFailure all[] = {ProbeFailure::resolve, ProbeFailure::connect, ProbeFailure::starttls,
                              ProbeFailure::handshake, ProbeFailure::exchange};
  for (const ProbeFailure a : all) {
    CHECK_FALSE(std::string(describe(a)).empty());
    for (const ProbeFailure b : all)
      if (a != b) CHECK(std::string(describe(a)) != describe(b));
  }
  CHECK(std::string(describe(ProbeFailure::handshake)) == "the TLS handshake failed");
}
