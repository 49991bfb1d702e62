#include "pki/judge/expiry.h"

#include <catch2/catch.hpp>

namespace {

certwatch::pki::CertRecord record_between(int64_t not_before, int64_t not_after) {
  certwatch::pki::CertRecord r;
  r.role = certwatch::pki::CertRole::leaf;
  r.not_before = not_before;
  r.not_after = not_after;
  return r;
}

certwatch::pki::JudgeOptions expiry_options_at(int64_t now) {
  certwatch::pki::JudgeOptions o;
  o.now = now;
  return o;
}

}  // namespace

TEST_CASE("a record without certificate bytes is judged for expiry by the lifetime rule",
          "[pki][expiry]") {
  using certwatch::pki::Severity;
  constexpr int64_t day = 86400;
  const auto rec = record_between(1000 * day, 1300 * day);  // 300 days: warning 30d, critical 7d
  SECTION("valid, far from expiry: nothing") {
    CHECK(judge_record_expiry(rec, expiry_options_at(1100 * day), "t").empty());
  }
  SECTION("not valid yet: nothing") {
    CHECK(judge_record_expiry(rec, expiry_options_at(999 * day), "t").empty());
  }
  SECTION("inside the warning window") {
    const auto f = judge_record_expiry(rec, expiry_options_at(1280 * day), "dev/x/01");
    REQUIRE(f.size() == 1);
    CHECK(f[0].id == "cert.expires_soon");
    CHECK(f[0].severity == Severity::warning);
    CHECK(f[0].target == "dev/x/01#0");
    CHECK(f[0].message == "expires in 20d (notAfter 1973-07-24T00:00:00Z)");
  }
  SECTION("inside the critical window") {
    const auto f = judge_record_expiry(rec, expiry_options_at(1295 * day), "t");
    REQUIRE(f.size() == 1);
    CHECK(f[0].id == "cert.expires_soon");
    CHECK(f[0].severity == Severity::critical);
  }
  SECTION("expired") {
    const auto f = judge_record_expiry(rec, expiry_options_at(1303 * day + 3600), "t");
    REQUIRE(f.size() == 1);
    CHECK(f[0].id == "cert.expired");
    CHECK(f[0].severity == Severity::critical);
    CHECK(f[0].message == "expired 3d1h ago");
  }
  SECTION("the config's severity for cert.expires_soon applies below the critical limit only") {
    auto o = expiry_options_at(1280 * day);
    o.policy.set("cert.expires_soon", Severity::info);
    const auto f = judge_record_expiry(rec, o, "t");
    REQUIRE(f.size() == 1);
    CHECK(f[0].severity == Severity::info);
  }
}

TEST_CASE("the lints and a record agree on where a window stands", "[pki][expiry]") {
  using certwatch::pki::ExpiryState;
  const certwatch::pki::Validity v{0, 3000};
  const certwatch::pki::Thresholds t;  // lifetime 3000 s: warning below 1000, critical below 300
  CHECK(expiry_standing(v, t, -1).state == ExpiryState::not_yet_valid);
  CHECK(expiry_standing(v, t, 1999).state == ExpiryState::valid);
  CHECK(expiry_standing(v, t, 2001).state == ExpiryState::expires_soon);
  CHECK_FALSE(expiry_standing(v, t, 2001).critical);
  CHECK(expiry_standing(v, t, 2701).critical);
  CHECK(expiry_standing(v, t, 3000).state == ExpiryState::expires_soon);
  CHECK(expiry_standing(v, t, 3001).state == ExpiryState::expired);
}
