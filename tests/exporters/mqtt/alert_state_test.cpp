// The alert book: raise, escalate at once, downgrade and clear only after the hold, flaps
// absorbed, reminders every renotify, restored alerts settled after the first scan.
#include "exporters/mqtt/alert_state.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace certwatch::exporters::mqtt;
using certwatch::pki::Severity;

namespace {

AlertInfo info(const std::string& key, Severity s) {
  AlertInfo i;
  i.key = key;
  i.source = "file";
  i.target = "/etc/x.pem";
  i.finding_target = "/etc/x.pem#0";
  i.id = "cert.expires_soon";
  i.severity = s;
  return i;
}

std::vector<std::string> names(const std::vector<AlertTransition>& ts) {
  std::vector<std::string> out;
  for (const auto& t : ts) out.push_back(std::string(to_string(t.event)) + ":" + std::string(certwatch::pki::to_string(t.info.severity)));
  return out;
}

}  // namespace

TEST_CASE("alert book: raise, escalate, hold a downgrade and a clear", "[exporters][mqtt]") {
  AlertBook book({60, 0});
  std::vector<AlertTransition> out;
  book.observe(info("k", Severity::warning), 1000, out);
  CHECK(names(out) == std::vector<std::string>{"raised:warning"});
  out.clear();
  book.observe(info("k", Severity::critical), 1010, out);  // up: at once
  REQUIRE(names(out) == std::vector<std::string>{"severity_changed:critical"});
  CHECK(out[0].previous == Severity::warning);
  CHECK(out[0].since == 1000);
  out.clear();
  book.observe(info("k", Severity::warning), 1020, out);  // down: held
  CHECK(out.empty());
  CHECK(book.next_deadline() == 1080);
  book.tick(1079, out);
  CHECK(out.empty());
  book.tick(1080, out);
  CHECK(names(out) == std::vector<std::string>{"severity_changed:warning"});
  out.clear();
  book.clear("k", 1100, out);
  CHECK(out.empty());
  book.tick(1160, out);
  CHECK(names(out) == std::vector<std::string>{"cleared:warning"});
  CHECK(book.alerts().empty());
  CHECK_FALSE(book.next_deadline());
}

TEST_CASE("alert book: a flap within the hold leaves no trace", "[exporters][mqtt]") {
  AlertBook book({60, 0});
  std::vector<AlertTransition> out;
  book.observe(info("k", Severity::critical), 0, out);
  out.clear();
  for (int64_t t = 10; t < 50; t += 10) {  // cleared and back, down and back
    book.clear("k", t, out);
    book.observe(info("k", Severity::critical), t + 1, out);
    book.observe(info("k", Severity::warning), t + 2, out);
    book.observe(info("k", Severity::critical), t + 3, out);
  }
  book.tick(1000, out);
  CHECK(out.empty());
  REQUIRE(book.alerts().size() == 1);
  CHECK(book.alerts().at("k").info.severity == Severity::critical);
}

TEST_CASE("alert book: hold 0 announces downgrades and clears at once", "[exporters][mqtt]") {
  AlertBook book({0, 0});
  std::vector<AlertTransition> out;
  book.observe(info("k", Severity::critical), 0, out);
  book.observe(info("k", Severity::warning), 1, out);
  book.clear("k", 2, out);
  CHECK(names(out) == std::vector<std::string>{"raised:critical", "severity_changed:warning", "cleared:warning"});
}

TEST_CASE("alert book: reminders every renotify while active", "[exporters][mqtt]") {
  AlertBook book({60, 3600});
  std::vector<AlertTransition> out;
  book.observe(info("a", Severity::warning), 0, out);
  book.observe(info("b", Severity::critical), 1800, out);
  out.clear();
  CHECK(book.next_deadline() == 3600);
  book.tick(3600, out);
  CHECK(names(out) == std::vector<std::string>{"reminder:warning"});
  book.tick(5400, out);
  CHECK(names(out) == std::vector<std::string>{"reminder:warning", "reminder:critical"});
  out.clear();
  book.observe(info("a", Severity::critical), 6000, out);  // an event restarts a's rhythm
  book.tick(8999, out);
  CHECK(names(out) == std::vector<std::string>{"severity_changed:critical"});
  book.tick(9000, out);  // b: reminded at 5400
  CHECK(names(out) == std::vector<std::string>{"severity_changed:critical", "reminder:critical"});
  CHECK(out[1].info.key == "b");
  CHECK(book.next_deadline() == 9600);  // a: changed at 6000
}

TEST_CASE("alert book: restored alerts are confirmed silently or cleared on settle", "[exporters][mqtt]") {
  AlertBook book({60, 86400});
  book.restore(info("seen", Severity::warning), 100, 100);
  book.restore(info("gone", Severity::critical), 100, 100);
  book.restore(info("worse", Severity::warning), 100, 100);
  std::vector<AlertTransition> out;
  book.observe(info("seen", Severity::warning), 5000, out);
  book.observe(info("worse", Severity::critical), 5000, out);
  CHECK(names(out) == std::vector<std::string>{"severity_changed:critical"});
  CHECK(out[0].since == 100);
  out.clear();
  CHECK_FALSE(book.settled());
  book.settle(5001, out);
  CHECK(book.settled());
  REQUIRE(names(out) == std::vector<std::string>{"cleared:critical"});
  CHECK(out[0].info.key == "gone");
  CHECK(book.alerts().size() == 2);
}

TEST_CASE("alert book: a certificate alert whose places change is updated, not raised again",
          "[exporters][mqtt]") {
  AlertBook book({60, 0});
  std::vector<AlertTransition> out;
  auto a = info("k", Severity::critical);
  a.fingerprint = std::string(64, 'a');
  a.places = {{"file", "/etc/x.pem", 0}};
  book.observe(a, 1000, out);
  out.clear();
  a.message = "expired 2 days ago";  // wording alone: silent
  book.observe(a, 1010, out);
  CHECK(out.empty());
  a.places.push_back({"endpoint", "127.0.0.1:8883 [127.0.0.1]", 0});
  book.observe(a, 1020, out);
  CHECK(names(out) == std::vector<std::string>{"updated:critical"});
  REQUIRE(book.alerts().at("k").info.places.size() == 2);
  out.clear();
  a.renewal = AlertRenewal{"broker", 900, 1100, 1, "issuer down"};
  book.observe(a, 1030, out);
  CHECK(names(out) == std::vector<std::string>{"updated:critical"});
}
