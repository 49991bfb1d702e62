// The alert keys of the `mqtt:` section (issue #10): hold, renotify, min_severity,
// buffer_limit, home_assistant; defaults, and every bad value refused at its line:column.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "config/loader.h"

namespace {

certwatch::config::LoadOptions no_files() {
  certwatch::config::LoadOptions o;
  o.check_files = false;
  return o;
}

std::string errors_of(const std::string& mqtt_line) {
  auto r = certwatch::config::load_config_string("watch: [{path: /x}]\n" + mqtt_line, "c.yaml",
                                                 "/base", no_files());
  return r ? std::string() : r.error().message;
}

}  // namespace

TEST_CASE("mqtt alert keys: defaults", "[config][mqtt]") {
  auto r = certwatch::config::load_config_string(
      "watch: [{path: /x}]\nmqtt: {broker: 'mqtt://h'}\n", "c.yaml", "/base", no_files());
  REQUIRE(r);
  REQUIRE(r->mqtt);
  CHECK(r->mqtt->hold == std::chrono::seconds(60));
  CHECK(r->mqtt->renotify == std::chrono::seconds(86400));
  CHECK(r->mqtt->min_severity == certwatch::pki::Severity::warning);
  CHECK(r->mqtt->buffer_limit == 10000);
  CHECK_FALSE(r->mqtt->home_assistant);
}

TEST_CASE("mqtt alert keys: values", "[config][mqtt]") {
  auto r = certwatch::config::load_config_string(
      "watch: [{path: /x}]\nmqtt: {broker: 'mqtt://h', hold: 0s, renotify: 12h, min_severity: "
      "critical,\n"
      "       buffer_limit: 50, home_assistant: true}\n",
      "c.yaml", "/base", no_files());
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r);
  CHECK(r->mqtt->hold == std::chrono::seconds(0));
  CHECK(r->mqtt->renotify == std::chrono::seconds(12 * 3600));
  CHECK(r->mqtt->min_severity == certwatch::pki::Severity::critical);
  CHECK(r->mqtt->buffer_limit == 50);
  CHECK(r->mqtt->home_assistant);
  auto off = certwatch::config::load_config_string(
      "watch: [{path: /x}]\nmqtt: {broker: 'mqtt://h', renotify: 0s}\n", "c.yaml", "/base",
      no_files());
  REQUIRE(off);
  CHECK(off->mqtt->renotify == std::chrono::seconds(0));
}

TEST_CASE("mqtt alert keys: bad values name file:line:col", "[config][mqtt]") {
  CHECK(errors_of("mqtt: {broker: 'mqtt://h', renotify: 30s}\n") ==
        "c.yaml:2:38: mqtt.renotify: must be 0 (no reminders) or at least 1m");
  CHECK(errors_of("mqtt: {broker: 'mqtt://h', hold: soon}\n")
            .starts_with("c.yaml:2:34: mqtt.hold: "));
  CHECK(errors_of("mqtt: {broker: 'mqtt://h', min_severity: loud}\n")
            .starts_with("c.yaml:2:42: mqtt.min_severity: bad value 'loud'"));
  CHECK(errors_of("mqtt: {broker: 'mqtt://h', buffer_limit: 0}\n")
            .starts_with("c.yaml:2:42: mqtt.buffer_limit: "));
  CHECK(errors_of("mqtt: {broker: 'mqtt://h', home_assistant: maybe}\n")
            .starts_with("c.yaml:2:44: mqtt.home_assistant: "));
  for (const char* prefix : {"a/#", "+/b", "a//b", "/a", "a/"})
    CHECK(errors_of(std::string("mqtt: {broker: 'mqtt://h', topic_prefix: '") + prefix + "'}\n")
              .starts_with("c.yaml:2:42: mqtt.topic_prefix: a topic prefix has no wildcards"));
  CHECK(errors_of("mqtt: {broker: 'mqtt://h', holds: 1m}\n") ==
        "c.yaml:2:28: unknown key 'holds' in mqtt (did you mean 'hold'?)");
}

TEST_CASE("mqtt protocol: 5 by default, 3.1.1 on request, anything else refused",
          "[config][mqtt]") {
  using certwatch::config::MqttProtocol;
  const auto load = [](const std::string& mqtt) {
    return certwatch::config::load_config_string("watch: [{path: /x}]\n" + mqtt, "c.yaml", "/base",
                                                 no_files());
  };
  auto plain = load("mqtt: {broker: 'mqtt://h'}\n");
  REQUIRE(plain);
  CHECK(plain->mqtt->protocol == MqttProtocol::v5);
  auto five = load("mqtt: {broker: 'mqtt://h', protocol: 5}\n");
  REQUIRE(five);
  CHECK(five->mqtt->protocol == MqttProtocol::v5);
  auto old = load("mqtt: {broker: 'mqtt://h', protocol: \"3.1.1\"}\n");
  REQUIRE(old);
  CHECK(old->mqtt->protocol == MqttProtocol::v3_1_1);
  CHECK(errors_of("mqtt: {broker: 'mqtt://h', protocol: 4}\n")
            .starts_with("c.yaml:2:38: mqtt.protocol: bad value '4'"));
}
