// The bytes of the MQTT 3.1.1 exchange (OASIS mqtt-v3.1.1, 3.1 CONNECT and 3.2 CONNACK). The
// exchange against a real broker is tests/integration/probe_mqtt_test.cpp.
#include "agent/probe/mqtt_exchange.h"

#include <catch2/catch.hpp>

using certwatch::ErrorKind;
using certwatch::agent::probe::check_connack;
using certwatch::agent::probe::mqtt_connect_packet;

TEST_CASE("CONNECT is a 3.1.1 clean-session packet with the client id", "[agent][probe][mqtt]") {
  const auto p = mqtt_connect_packet("abc");
  const std::vector<unsigned char> expected{0x10, 15,   0x00, 0x04, 'M',  'Q', 'T', 'T', 0x04,
                                            0x02, 0x00, 0x3c, 0x00, 0x03, 'a', 'b', 'c'};
  CHECK(p == expected);
  // The id is cut to the 23 bytes every broker must accept (3.1.3.1).
  const auto long_id = mqtt_connect_packet(std::string(40, 'x'));
  CHECK(long_id.size() == 2 + 10 + 2 + 23);
  CHECK(long_id[1] == 10 + 2 + 23);
}

TEST_CASE("CONNACK return codes", "[agent][probe][mqtt]") {
  CHECK(check_connack({0x20, 0x02, 0x00, 0x00}));
  CHECK(check_connack({0x20, 0x02, 0x01, 0x00}));  // session present is fine
  const auto refused = check_connack({0x20, 0x02, 0x00, 0x05});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message == "CONNACK return code 5 (not authorized)");
  CHECK(refused.error().kind == ErrorKind::refused);
  CHECK(check_connack({0x20, 0x02, 0x00, 0x01}).error().message ==
        "CONNACK return code 1 (unacceptable protocol version)");
  CHECK(check_connack({0x20, 0x02, 0x00, 0x09}).error().message.find("reserved") !=
        std::string::npos);
  const auto http = check_connack({'H', 'T', 'T', 'P'});
  REQUIRE_FALSE(http);
  CHECK(http.error().message.find("not a CONNACK") != std::string::npos);
  CHECK(http.error().kind == ErrorKind::invalid_input);
}
