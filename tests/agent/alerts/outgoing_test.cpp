// The MQTT contract of each outgoing message (exporters/mqtt/README.md): which topics are
// retained, which are not, and which deliveries settle a pending removal.
#include "agent/alerts/outgoing.h"

#include <catch2/catch.hpp>

using certwatch::agent::Acknowledges;
using certwatch::agent::MessageKind;
using certwatch::exporters::mqtt::Retain;
using certwatch::exporters::mqtt::Topics;
namespace outgoing = certwatch::agent::outgoing;

TEST_CASE("outgoing: alerts and status are retained, events are not", "[agent][alerts]") {
  const Topics t{"certwatch/h1"};
  const auto a = outgoing::alert(t, "k1", "{}");
  CHECK(a.topic == "certwatch/h1/alerts/k1");
  CHECK(a.payload == "{}");
  CHECK(a.retain == Retain::yes);
  CHECK(a.kind == MessageKind::alert);
  CHECK(a.acknowledges == Acknowledges::nothing);

  const auto e = outgoing::event(t, "{\"event\":\"raised\"}");
  CHECK(e.topic == "certwatch/h1/events");
  CHECK(e.retain == Retain::no);
  CHECK(e.kind == MessageKind::event);

  const auto s = outgoing::status(t, "online");
  CHECK(s.topic == "certwatch/h1/status");
  CHECK(s.payload == "online");
  CHECK(s.retain == Retain::yes);
  CHECK(to_string(s.kind) == "status");
}

TEST_CASE("outgoing: a clear and a sensor removal are empty, retained and acknowledged",
          "[agent][alerts]") {
  const Topics t{"certwatch/h1"};
  const auto c = outgoing::alert_clear(t, "k1");
  CHECK(c.topic == "certwatch/h1/alerts/k1");
  CHECK(c.payload.empty());
  CHECK(c.retain == Retain::yes);
  CHECK(c.acknowledges == Acknowledges::alert_clear);
  CHECK(c.key == "k1");
  // Retiring empties the same topic, but nothing is left waiting for it.
  const auto r = outgoing::alert_retire(t, "k1");
  CHECK(r.topic == c.topic);
  CHECK(r.payload.empty());
  CHECK(r.retain == Retain::yes);
  CHECK(r.acknowledges == Acknowledges::nothing);

  const auto d = outgoing::sensor_removal(t, "certwatch_h1", "s1");
  CHECK(d.topic == t.discovery("certwatch_h1", "s1"));
  CHECK(d.payload.empty());
  CHECK(d.retain == Retain::yes);
  CHECK(d.kind == MessageKind::discovery);
  CHECK(d.acknowledges == Acknowledges::sensor_removal);
  CHECK(d.key == "s1");
  const auto st = outgoing::sensor_state_removal(t, "s1");
  CHECK(st.topic == "certwatch/h1/certs/s1");
  CHECK(st.payload.empty());
  CHECK(st.retain == Retain::yes);
  CHECK(st.acknowledges == Acknowledges::nothing);
}
