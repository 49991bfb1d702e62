#include <catch2/catch.hpp>

#include "base/duration.h"

TEST_CASE("parse_duration accepts the config units", "[duration]") {
  CHECK(certwatch::parse_duration("90d").value() == 90 * 86400);
  CHECK(certwatch::parse_duration("12h").value() == 12 * 3600);
  CHECK(certwatch::parse_duration("30s").value() == 30);
  CHECK(certwatch::parse_duration("10m").value() == 600);
  CHECK(certwatch::parse_duration("2w").value() == 14 * 86400);
  CHECK(certwatch::parse_duration("1h30m").value() == 5400);
  CHECK(certwatch::parse_duration("0s").value() == 0);
}

TEST_CASE("parse_duration rejects malformed input", "[duration]") {
  for (const char* bad : {"", "90", "d", "-5d", "5x", "5 d", "1.5h", "99999999999999999999s",
                          "9999999999999999d"}) {
    INFO(bad);
    auto r = certwatch::parse_duration(bad);
    REQUIRE_FALSE(r.ok());
    CHECK_FALSE(r.error().message.empty());
  }
}

TEST_CASE("format_duration round-trips", "[duration]") {
  CHECK(certwatch::format_duration(86400) == "1d");
  CHECK(certwatch::format_duration(5400) == "1h30m");
  CHECK(certwatch::format_duration(0) == "0s");
  CHECK(certwatch::format_duration(-60) == "-1m");
  for (int64_t s : {1, 59, 61, 3601, 90 * 86400 + 5}) {
    CHECK(certwatch::parse_duration(certwatch::format_duration(s)).value() == s);
  }
}

TEST_CASE("format_timestamp renders UTC", "[duration]") {
  CHECK(certwatch::format_timestamp(0) == "1970-01-01 00:00 UTC");
  CHECK(certwatch::format_timestamp(1700000000) == "2023-11-14 22:13 UTC");
}
