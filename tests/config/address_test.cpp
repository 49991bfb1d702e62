#include "config/address.h"

#include <catch2/catch.hpp>

using certwatch::config::HostPort;
using certwatch::config::parse_authority;
using certwatch::config::parse_host_port;

TEST_CASE("parse_authority takes a URL's host with or without its port", "[config][address]") {
  CHECK(parse_authority("broker.lab", 8883).value() == HostPort{"broker.lab", 8883});
  CHECK(parse_authority("broker.lab:1884", 8883).value() == HostPort{"broker.lab", 1884});
  CHECK(parse_authority("[::1]", 443).value() == HostPort{"::1", 443});
  CHECK(parse_authority("[::1]:8443", 443).value() == HostPort{"::1", 8443});
  CHECK(parse_authority("127.0.0.1", 80).value() == HostPort{"127.0.0.1", 80});
}

TEST_CASE("parse_authority refuses what parse_host_port refuses, quoting what was written",
          "[config][address]") {
  const auto bad_host = parse_authority("bad_host!", 443);
  REQUIRE_FALSE(bad_host);
  CHECK(bad_host.error().message.find("'bad_host!'") != std::string::npos);
  CHECK(bad_host.error().message.find(":443") == std::string::npos);
  CHECK_FALSE(parse_authority("::1", 443));  // IPv6 needs brackets
  CHECK_FALSE(parse_authority("[::1", 443));
  CHECK_FALSE(parse_authority("host:0", 443));
  CHECK_FALSE(parse_authority("", 443));
  // The same text with its port is judged alike by both.
  CHECK(parse_authority("[::1]:99999", 443).error().message ==
        parse_host_port("[::1]:99999").error().message);
}
