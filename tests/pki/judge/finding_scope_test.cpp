#include "pki/judge/finding_scope.h"

#include <catch2/catch.hpp>

#include "pki/judge/finding.h"

using namespace certwatch::pki;

TEST_CASE("finding scope: a certificate's own facts are certificate findings") {
  for (auto id :
       {fid::cert_expired, fid::cert_expires_soon, fid::cert_not_yet_valid, fid::cert_weak_key,
        fid::cert_weak_signature, fid::leaf_no_san, fid::ca_no_key_cert_sign})
    CHECK(scope_of(id) == FindingScope::certificate);
}

TEST_CASE("finding scope: what depends on the place stays with the place") {
  for (auto id : {fid::chain_order, fid::chain_leaf_not_first, fid::chain_incomplete,
                  fid::key_mismatch, fid::leaf_hostname_mismatch, fid::leaf_purpose_mismatch,
                  fid::leaf_is_ca, fid::cert_outlives_issuer, fid::ca_path_len_exceeded,
                  fid::endpoint_stale, fid::renewal_failed, fid::input_unreadable})
    CHECK(scope_of(id) == FindingScope::place);
  CHECK(scope_of("no.such_id") == FindingScope::place);
}

TEST_CASE(
    "finding scope: every catalogue id has a scope and the certificate ones are cert., "
    "leaf. or ca. ids") {
  int certificate = 0;
  for (auto id : fid::kAllIds)
    if (is_certificate_finding(id)) {
      ++certificate;
      const bool family =
          id.rfind("cert.", 0) == 0 || id.rfind("leaf.", 0) == 0 || id.rfind("ca.", 0) == 0;
      CHECK(family);
    }
  CHECK(certificate == 17);
}
