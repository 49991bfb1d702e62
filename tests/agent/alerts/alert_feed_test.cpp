#include "agent/alerts/alert_feed.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "exporters/mqtt/payloads.h"

using certwatch::agent::AlertPolicy;
using certwatch::agent::file_target;
using certwatch::agent::Inventory;
using certwatch::agent::InventoryEntry;
using certwatch::agent::ManagedState;
using certwatch::agent::SourceKind;
using certwatch::agent::TargetId;
using certwatch::exporters::mqtt::AlertBook;
using certwatch::exporters::mqtt::AlertEvent;
using certwatch::exporters::mqtt::AlertTransition;
using certwatch::pki::Severity;

namespace {

const std::string kA(64, 'a');

InventoryEntry holding(const TargetId& t, int position, std::vector<std::string> ids,
                       Severity s = Severity::critical) {
  InventoryEntry e;
  for (int i = 0; i <= position; ++i) {
    certwatch::pki::CertRecord c;
    c.index = i;
    c.sha256 = i == position ? kA : std::string(64, static_cast<char>('b' + i));
    c.subject_cn = i == position ? "sensor-2.demo.local" : "other";
    c.serial = "0A";
    c.not_after = 1000;
    e.report.certs.push_back(c);
  }
  for (auto& id : ids)
    e.report.findings.push_back({id, s, t.id + "#" + std::to_string(position), "m"});
  return e;
}

struct Feed {
  Inventory inv;
  AlertBook book{{.hold = 0, .renotify = 0}};
  AlertPolicy policy;
  std::vector<AlertTransition> out;
  int64_t now = 100;
  void observe(const TargetId& t, InventoryEntry e) {
    auto c = inv.observe(t, std::move(e));
    certwatch::agent::feed_alerts(book, policy, c, inv.find(t), now, out);
  }
  void remove(const TargetId& t) {
    auto c = inv.remove(t);
    REQUIRE(c);
    certwatch::agent::feed_alerts(book, policy, *c, nullptr, now, out);
  }
  int count(AlertEvent e) const {
    int n = 0;
    for (const auto& t : out) n += t.event == e ? 1 : 0;
    return n;
  }
};

}  // namespace

TEST_CASE(
    "alert feed: one expired certificate in a cert file, a chain file, an endpoint and the "
    "ledger is one alert listing its places",
    "[agent][alerts]") {
  Feed f;
  const auto cert = file_target("/d/sensor-2.cert.pem"),
             chain = file_target("/d/sensor-2.chain.pem");
  const TargetId endpoint{SourceKind::endpoint, "127.0.0.1:8883 [127.0.0.1]"};
  const TargetId ledger{SourceKind::ledger, "device-ca/sensor-2/0A"};
  f.observe(cert, holding(cert, 0, {"cert.expired"}));
  f.observe(chain, holding(chain, 0, {"cert.expired", "chain.order"}));
  f.observe(endpoint, holding(endpoint, 0, {"cert.expired", "endpoint.stale"}));
  f.observe(ledger, holding(ledger, 0, {"cert.expired"}));
  // One alert for the certificate, one per place problem.
  REQUIRE(f.book.alerts().size() == 3);
  CHECK(f.count(AlertEvent::raised) == 3);
  const auto* expired = [&]() -> const AlertBook::Alert* {
    for (const auto& [k, a] : f.book.alerts())
      if (a.info.id == "cert.expired") return &a;
    return nullptr;
  }();
  REQUIRE(expired != nullptr);
  CHECK(expired->info.fingerprint == kA);
  CHECK(expired->info.key.rfind("sensor-2.demo.local.cert.expired.", 0) == 0);
  REQUIRE(expired->info.places.size() == 4);
  CHECK(expired->info.places[0].target == "/d/sensor-2.cert.pem");
  CHECK(expired->info.places[3].source == "ledger");
  const auto payload = certwatch::exporters::mqtt::alert_payload(expired->info, "h", 1, 2);
  CHECK(payload.find("\"fingerprint_sha256\":\"" + kA + "\"") != std::string::npos);
  CHECK(payload.find("\"places\":[{\"source\":\"file\"") != std::string::npos);
  // Places come and go: the alert stays until the last one goes.
  f.remove(cert);
  f.remove(endpoint);
  f.remove(chain);
  CHECK(f.count(AlertEvent::cleared) == 2);  // endpoint.stale, chain.order
  CHECK(f.book.alerts().size() == 1);
  f.remove(ledger);
  CHECK(f.count(AlertEvent::cleared) == 3);
  CHECK(f.book.alerts().empty());
}

TEST_CASE(
    "alert feed: a managed certificate's expiry warning pages only when its renewal is not "
    "healthy, and carries the renewal",
    "[agent][alerts]") {
  Feed f;
  const TargetId managed{SourceKind::managed, "managed/broker"};
  const auto file = file_target("/m/broker.cert.pem");
  auto managed_entry = [&](int failures) {
    auto e = holding(managed, 0, {"cert.expires_soon"}, Severity::warning);
    e.state = ManagedState{.name = "broker",
                           .due_at = 500,
                           .next_at = 500,
                           .failures = failures,
                           .last_error = failures != 0 ? "issuer down" : ""};
    if (failures != 0)
      e.report.findings.push_back({"renewal.failed", Severity::critical, managed.id, "failed"});
    return e;
  };
  f.observe(managed, managed_entry(0));
  f.observe(file, holding(file, 0, {"cert.expires_soon"}, Severity::warning));
  CHECK(f.book.alerts().empty());  // healthy and not yet due: quiet
  // The renewal fails: the warning pages, with the renewal's state, beside renewal.failed.
  f.observe(managed, managed_entry(1));
  REQUIRE(f.book.alerts().size() == 2);
  for (const auto& [k, a] : f.book.alerts()) {
    if (a.info.id != "cert.expires_soon") continue;
    REQUIRE(a.info.renewal);
    CHECK(a.info.renewal->failures == 1);
    CHECK(a.info.renewal->last_error == "issuer down");
    CHECK(a.info.places.size() == 2);
  }
  // Critical always pages; with the option off, the warning pages too.
  Feed g;
  g.policy.quiet_managed_expiry = false;
  g.observe(managed, managed_entry(0));
  CHECK(g.book.alerts().size() == 1);
}

TEST_CASE("alert feed: certificate alert keys are stable and apart from place keys",
          "[agent][alerts]") {
  using certwatch::exporters::mqtt::alert_key;
  using certwatch::exporters::mqtt::certificate_alert_key;
  const auto k = certificate_alert_key("a/b c", kA, "cert.expired");
  CHECK(k == certificate_alert_key("a/b c", kA, "cert.expired"));
  CHECK(k.rfind("a_b_c.cert.expired.", 0) == 0);
  CHECK(k != certificate_alert_key("a/b c", kA, "cert.expires_soon"));
  CHECK(k != certificate_alert_key("a/b c", std::string(64, 'b'), "cert.expired"));
  CHECK(certificate_alert_key("", kA, "cert.v1").rfind("aaaaaaaaaaaaaaaa.cert.v1.", 0) == 0);
  CHECK(k != alert_key("a/b c", "cert.expired"));
}
