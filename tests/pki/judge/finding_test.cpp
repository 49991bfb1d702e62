#include "pki/judge/finding.h"

#include <catch2/catch.hpp>
#include <iterator>
#include <set>
#include <string_view>
#include <vector>

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

TEST_CASE("named finding ids spell the catalogue's ids, which are never renamed",
          "[pki][finding]") {
  namespace fid = certwatch::pki::fid;
  // The catalogue is built from the named constants, so a constant edited by mistake renames an
  // id everywhere at once: this list of literals is the contract they are held to.
  const std::vector<std::string_view> contract = {
      "chain.leaf_not_first",
      "chain.order",
      "chain.incomplete",
      "chain.untrusted",
      "chain.contains_root",
      "chain.duplicate",
      "chain.extra",
      "chain.ambiguous_issuer",
      "chain.too_large",
      "chain.verify_failed",
      "chain.no_end_entity",
      "client.openssl.rejects",
      "client.gnutls.rejects",
      "client.go.rejects",
      "client.mbedtls.rejects",
      "cert.expired",
      "cert.not_yet_valid",
      "cert.expires_soon",
      "cert.weak_key",
      "cert.weak_signature",
      "cert.outlives_issuer",
      "cert.missing_ski",
      "cert.missing_aki",
      "cert.v1",
      "cert.bad_serial",
      "leaf.no_san",
      "leaf.hostname_mismatch",
      "leaf.purpose_mismatch",
      "leaf.rsa_no_key_encipherment",
      "leaf.is_ca",
      "leaf.duplicate_san",
      "leaf.long_validity",
      "leaf.ip_in_dns_san",
      "ca.basic_constraints_not_critical",
      "ca.no_key_cert_sign",
      "ca.no_path_len",
      "ca.path_len_exceeded",
      "key.mismatch",
      "key.encrypted",
      "key.permissions",
      "endpoint.unreachable",
      "endpoint.handshake_failed",
      "endpoint.protocol_failed",
      "endpoint.stale",
      "renewal.failed",
      "renewal.overdue",
      "input.unreadable",
      "input.malformed",
      "input.no_certificates",
      "input.too_complex",
  };
  CHECK(std::vector<std::string_view>(std::begin(fid::kAllIds), std::end(fid::kAllIds)) ==
        contract);
  CHECK(fid::chain_order == "chain.order");
  CHECK(fid::client_mbedtls_rejects == "client.mbedtls.rejects");
  CHECK(fid::input_unreadable == "input.unreadable");
}

TEST_CASE("a load error's kind decides between input.unreadable and input.malformed",
          "[pki][finding]") {
  using certwatch::ErrorKind;
  using certwatch::make_error;
  using certwatch::pki::input_finding_id;
  CHECK(input_finding_id(make_error("gone", ErrorKind::io)) == "input.unreadable");
  CHECK(input_finding_id(make_error("bad PEM", ErrorKind::invalid_input)) == "input.malformed");
}
