// MQTT 5 reason codes as the agent reports them: a bounded metric label and words for the log.
#include "exporters/mqtt/reason_codes.h"

#include <catch2/catch.hpp>

namespace mq = certwatch::exporters::mqtt;

TEST_CASE("a refused publish: Mosquitto's ACL denial and the other PUBACK codes",
          "[exporters][mqtt]") {
  const auto acl = mq::publish_refusal(0x87);
  CHECK(acl.label == "not_authorized");
  CHECK(acl.words == "not authorized (reason code 0x87)");
  CHECK(mq::publish_refusal(0x97).label == "quota_exceeded");
  CHECK(mq::publish_refusal(0x90).label == "topic_name_invalid");
  // A code the specification does not list for PUBACK: still one bounded label per code.
  CHECK(mq::publish_refusal(0x9A).label == "code_0x9A");
  CHECK(mq::publish_refusal(0x9A).words == "refused (reason code 0x9A)");
}

TEST_CASE("a refused MQTT 5 CONNECT names the CONNACK reason", "[exporters][mqtt]") {
  CHECK(mq::connack5_refusal(0x86) ==
        "broker refused the connection: bad user name or password (CONNACK 0x86)");
  CHECK(mq::connack5_refusal(0x87) ==
        "broker refused the connection: not authorized (CONNACK 0x87)");
  CHECK(mq::connack5_refusal(0x80) == "broker refused the connection: refused (CONNACK 0x80)");
}
