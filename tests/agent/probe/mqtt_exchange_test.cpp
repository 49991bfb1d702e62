// The bytes of the MQTT 3.1.1 exchange (OASIS mqtt-v3.1.1, 3.1 CONNECT and 3.2 CONNACK). The
// exchange against a real broker is tests/integration/probe_mqtt_test.cpp.
#include <catch2/catch.hpp>

#include "agent/probe/mqtt_exchange.h"

using certwatch::agent::probe::mqtt_connack_problem;
using certwatch::agent::probe::mqtt_connect_packet;

TEST_CASE("CONNECT is a 3.1.1 clean-session packet with the client id", "[agent][probe][mqtt]") {
  const auto p = mqtt_connect_packet("abc");
  const std::vector<unsigned char> expected{0x10, 15,  0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04,
                                            0x02, 0x00, 0x3c, 0x00, 0x03, 'a', 'b', 'c'};
  CHECK(p == expected);
  // The id is cut to the 23 bytes every broker must accept (3.1.3.1).
  const auto long_id = mqtt_connect_packet(std::string(40, 'x'));
  CHECK(long_id.size() == 2 + 10 + 2 + 23);
  CHECK(long_id[1] == 10 + 2 + 23);
}

TEST_CASE("CONNACK return codes", "[agent][probe][mqtt]") {
  CHECK_FALSE(mqtt_connack_problem({0x20, 0x02, 0x00, 0x00}));
  CHECK_FALSE(mqtt_connack_problem({0x20, 0x02, 0x01, 0x00}));  // session present is fine
  CHECK(*mqtt_connack_problem({0x20, 0x02, 0x00, 0x05}) == "CONNACK return code 5 (not authorized)");
  CHECK(*mqtt_connack_problem({0x20, 0x02, 0x00, 0x01}) == "CONNACK return code 1 (unacceptable protocol version)");
  CHECK(mqtt_connack_problem({0x20, 0x02, 0x00, 0x09})->find("reserved") != std::string::npos);
  CHECK(mqtt_connack_problem({'H', 'T', 'T', 'P'})->find("not a CONNACK") != std::string::npos);
}
