// Home Assistant payload pieces: days left as JSON number text, and a node id that is one
// safe topic level.
#include "exporters/mqtt/home_assistant.h"

#include <catch2/catch.hpp>

using namespace certwatch::exporters::mqtt;

TEST_CASE("Home Assistant: days left as JSON text", "[exporters][mqtt]") {
  CHECK(days_left(20 * 86400) == "20.0");
  CHECK(days_left(20 * 86400 - 1) == "19.9");
  CHECK(days_left(8640) == "0.1");
  CHECK(days_left(0) == "0.0");
  CHECK(days_left(-1) == "-0.1");
  CHECK(days_left(-86400 * 3 / 2) == "-1.5");
}

TEST_CASE("Home Assistant: node id", "[exporters][mqtt]") {
  CHECK(node_id_for("broker1") == "certwatch_broker1");
  CHECK(node_id_for("mqtt.lab.local") == "certwatch_mqtt_lab_local");
  CHECK(node_id_for("a/b+#") == "certwatch_a_b__");
}
