// The published-keys file round-trips every field, whatever bytes a path or message holds,
// and skips lines it does not understand.
#include "exporters/mqtt/published_keys.h"

#include <catch2/catch.hpp>

#include "support/fixtures.h"

using namespace certwatch::exporters::mqtt;

TEST_CASE("published keys: round trip", "[exporters][mqtt]") {
  AlertBook book({60, 86400});
  AlertInfo a;
  a.key = "x.pem_0.cert.expired.0123456789abcdef";
  a.source = "file";
  a.target = "/etc/odd\tname\n%41.pem";
  a.finding_target = a.target + "#0";
  a.id = "cert.expired";
  a.severity = certwatch::pki::Severity::critical;
  a.message = "expired 3 days ago\r\n100%";
  a.subject_cn = "mqtt.lab.local";
  a.serial = "0A1B";
  a.not_after = 1700000000;
  book.restore(a, 1600000000, 1650000000);
  AlertInfo b = a;
  b.key = "y";
  b.not_after.reset();
  b.subject_cn.clear();
  book.restore(b, 1, 2);
  const std::string text = render_published(book, {"gone.1"}, {"sensor.1"}, {"unsensor.1"});
  const auto st = parse_published(text + "future-kind\tsomething\nalert\ttoo\tfew\n");
  REQUIRE(st.alerts.size() == 2);
  CHECK(st.alerts[0].info == a);
  CHECK(st.alerts[0].since == 1600000000);
  CHECK(st.alerts[0].notified_at == 1650000000);
  CHECK(st.alerts[1].info == b);
  CHECK(st.clearing == std::set<std::string>{"gone.1"});
  CHECK(st.sensors == std::set<std::string>{"sensor.1"});
  CHECK(st.unsensors == std::set<std::string>{"unsensor.1"});
}

TEST_CASE("published keys: file written atomically, missing file is empty", "[exporters][mqtt]") {
  testing::TempDir dir;
  const auto path = dir / "state/mqtt/published";
  auto none = read_published(path);
  REQUIRE(none);
  CHECK(none->alerts.empty());
  AlertBook book({0, 0});
  std::vector<AlertTransition> out;
  AlertInfo a;
  a.key = "k";
  a.message = "m";
  book.observe(a, 10, out);
  REQUIRE(write_published(path, render_published(book, {}, {}, {})));
  auto back = read_published(path);
  REQUIRE(back);
  REQUIRE(back->alerts.size() == 1);
  CHECK(back->alerts[0].info.key == "k");
  CHECK((std::filesystem::status(path).permissions() & std::filesystem::perms::others_read) ==
        std::filesystem::perms::none);
}
