// Alert keys are stable, distinct and safe as one topic level whatever the path says.
#include "exporters/mqtt/topics.h"

#include <catch2/catch.hpp>

#include <set>
#include <string>

using namespace certwatch::exporters::mqtt;

TEST_CASE("alert keys: stable, readable, one safe topic level", "[exporters][mqtt]") {
  const auto k = alert_key("/etc/mosquitto/certs/server.chain.pem#0", "cert.expires_soon");
  CHECK(k.starts_with("server.chain.pem_0.cert.expires_soon."));
  CHECK(k.size() == std::string("server.chain.pem_0.cert.expires_soon.").size() + 16);
  CHECK(k == alert_key("/etc/mosquitto/certs/server.chain.pem#0", "cert.expires_soon"));
  CHECK(safe_topic_level(k));
  std::set<std::string> keys;
  for (const char* target : {"/a/x.pem#0", "/b/x.pem#0", "/a/x.pem#1", "/a/x.pem", "/a/x+.pem", "/a/x#.pem"})
    for (const char* id : {"cert.expired", "chain.order"}) keys.insert(alert_key(target, id));
  CHECK(keys.size() == 12);
  for (const char* hostile : {"/x/+/#/y", "/x/a\nb", "", "/", "/x/\x01\x7f", "/x/\xff\xfe.pem"}) {
    const auto h = alert_key(hostile, "chain.order");
    CHECK(safe_topic_level(h));
    CHECK(h.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == std::string::npos);
  }
  CHECK(alert_key(std::string(300, 'a'), "cert.v1").size() <= 48 + 1 + 7 + 1 + 16);
}

TEST_CASE("topics under the prefix", "[exporters][mqtt]") {
  Topics t{"certwatch/broker1"};
  CHECK(t.status() == "certwatch/broker1/status");
  CHECK(t.events() == "certwatch/broker1/events");
  CHECK(t.alert("k.1") == "certwatch/broker1/alerts/k.1");
  CHECK(t.discovery("certwatch_broker1", "x.pem.0123") == "homeassistant/sensor/certwatch_broker1/x_pem_0123/config");
  CHECK_FALSE(safe_topic_level("a/b"));
  CHECK_FALSE(safe_topic_level("+"));
  CHECK_FALSE(safe_topic_level(""));
  CHECK(stable_hash("abc") == 0xe71fa2190541574bULL);  // FNV-1a 64: the same on every host
}
