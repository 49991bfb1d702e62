#include "agent/inventory/certificates.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "agent/inventory/inventory.h"

using certwatch::agent::CertificateChange;
using certwatch::agent::file_target;
using certwatch::agent::Inventory;
using certwatch::agent::InventoryEntry;
using certwatch::agent::SourceKind;
using certwatch::agent::TargetId;
using certwatch::pki::Severity;

namespace {

const std::string kA(64, 'a');
const std::string kB(64, 'b');

struct Held {
  std::string sha256;
  std::string issuer_cn = "Real CA";
};

// An entry holding `certs` in order, with findings given as {id, index, severity}; index -1
// is about the whole target.
struct F {
  std::string id;
  int index;
  Severity severity = Severity::warning;
};
InventoryEntry entry(const TargetId& t, std::vector<Held> certs, std::vector<F> findings) {
  InventoryEntry e;
  int i = 0;
  for (auto& h : certs) {
    certwatch::pki::CertRecord c;
    c.index = i++;
    c.sha256 = h.sha256;
    c.issuer_cn = h.issuer_cn;
    e.report.certs.push_back(c);
  }
  for (auto& f : findings)
    e.report.findings.push_back(
        {f.id, f.severity, f.index < 0 ? t.id : t.id + "#" + std::to_string(f.index), "m"});
  return e;
}

const CertificateChange& change_of(const std::vector<CertificateChange>& cs,
                                   const std::string& sha) {
  for (const auto& c : cs)
    if (c.sha256 == sha) return c;
  FAIL("no change for " << sha);
  return cs.front();
}

}  // namespace

TEST_CASE(
    "certificates: one certificate in a cert file, a chain file and the ledger is one "
    "certificate with three places",
    "[agent][inventory]") {
  Inventory inv;
  const TargetId ledger{SourceKind::ledger, "device-ca/sensor-2/0A"};
  (void)inv.observe(ledger, entry(ledger, {{kA, "device-ca"}}, {}));
  (void)inv.observe(file_target("/c/s.cert.pem"), entry(file_target("/c/s.cert.pem"), {{kA}}, {}));
  (void)inv.observe(file_target("/c/s.chain.pem"),
                    entry(file_target("/c/s.chain.pem"), {{kA}, {kB}}, {}));
  const auto& index = inv.certificates();
  CHECK(index.size() == 2);
  CHECK(inv.certificate_count() == 4);  // one per place
  const auto* a = index.find(kA);
  REQUIRE(a != nullptr);
  REQUIRE(a->places.size() == 3);
  const auto sorted = a->sorted_places();
  CHECK(sorted[0]->target().id == "/c/s.cert.pem");
  CHECK(sorted[1]->target().id == "/c/s.chain.pem");
  CHECK(sorted[2]->target() == ledger);
  CHECK(sorted[1]->finding_target() == "/c/s.chain.pem#0");
  CHECK(&a->first_place() == sorted[0]);
  CHECK(index.place_count() == 4);
  // The facts come from a file that read the certificate, not from the ledger's row.
  CHECK(a->record->issuer_cn == "Real CA");
  CHECK(index.find(kB)->places.size() == 1);
  CHECK(index.find(kB)->places[0].finding_target() == "/c/s.chain.pem#1");
  // Upper-case hex finds it too; garbage finds nothing.
  std::string upper = kA;
  for (auto& ch : upper) ch = 'A';
  CHECK(index.find(upper) == a);
  CHECK(index.find("zz") == nullptr);
  // Ordered by first place.
  const auto ordered = index.by_first_place();
  REQUIRE(ordered.size() == 2);
  CHECK(ordered[0] == a);
}

TEST_CASE(
    "certificates: the certificate's own finding is raised once and cleared when its last "
    "place is gone",
    "[agent][inventory]") {
  Inventory inv;
  const auto f1 = file_target("/c/a.pem"), f2 = file_target("/c/b.pem");
  auto c = inv.observe(f1, entry(f1, {{kA}}, {{"cert.expired", 0, Severity::critical}}));
  {
    const auto& ch = change_of(c.certificates, kA);
    REQUIRE(ch.raised.size() == 1);
    CHECK(ch.raised[0].id == "cert.expired");
    CHECK(ch.raised[0].target == "/c/a.pem#0");
    CHECK(ch.places_changed);
    REQUIRE(ch.now != nullptr);
  }
  // The same certificate in a second place, a chain problem of that place beside it.
  c = inv.observe(
      f2, entry(f2, {{kB}, {kA}}, {{"cert.expired", 1, Severity::critical}, {"chain.order", -1}}));
  {
    const auto& ch = change_of(c.certificates, kA);
    CHECK(ch.raised.empty());
    CHECK(ch.cleared.empty());
    CHECK(ch.places_changed);
    REQUIRE(ch.now != nullptr);
    REQUIRE(ch.now->findings().size() == 1);  // chain.order is the place's
    CHECK(ch.now->places.size() == 2);
    CHECK(change_of(c.certificates, kB).raised.empty());
  }
  // Seen again unchanged: nothing to say.
  c = inv.observe(f1, entry(f1, {{kA}}, {{"cert.expired", 0, Severity::critical}}));
  CHECK(change_of(c.certificates, kA).raised.empty());
  CHECK_FALSE(change_of(c.certificates, kA).places_changed);
  // One place goes: the finding stays.
  auto r = inv.remove(f1);
  REQUIRE(r);
  CHECK(change_of(r->certificates, kA).cleared.empty());
  CHECK(change_of(r->certificates, kA).now->findings().at(0).target == "/c/b.pem#1");
  // The last place goes: cleared, and the certificate with it.
  r = inv.remove(f2);
  REQUIRE(r);
  const auto& gone = change_of(r->certificates, kA);
  CHECK(gone.now == nullptr);
  REQUIRE(gone.cleared.size() == 1);
  CHECK(gone.cleared[0].id == "cert.expired");
  CHECK(inv.certificates().size() == 0);
}

TEST_CASE("certificates: the worst severity of any place is the certificate's",
          "[agent][inventory]") {
  Inventory inv;
  const auto f1 = file_target("/c/a.pem"), f2 = file_target("/c/b.pem");
  (void)inv.observe(f1, entry(f1, {{kA}}, {{"cert.expires_soon", 0, Severity::warning}}));
  auto c = inv.observe(f2, entry(f2, {{kA}}, {{"cert.expires_soon", 0, Severity::critical}}));
  {
    const auto& ch = change_of(c.certificates, kA);
    REQUIRE(ch.changed.size() == 1);
    CHECK(ch.changed[0].before.severity == Severity::warning);
    CHECK(ch.changed[0].after.severity == Severity::critical);
    CHECK(ch.changed[0].after.target == "/c/b.pem#0");
  }
  auto r = inv.remove(f2);
  REQUIRE(r);
  const auto& ch = change_of(r->certificates, kA);
  REQUIRE(ch.changed.size() == 1);
  CHECK(ch.changed[0].after.severity == Severity::warning);
}

TEST_CASE("certificates: a managed place is found and carries its renewal state",
          "[agent][inventory]") {
  Inventory inv;
  const TargetId managed{SourceKind::managed, "managed/broker"};
  auto e = entry(managed, {{kA}}, {});
  e.state = certwatch::agent::ManagedState{
      .name = "broker", .due_at = 2000, .next_at = 2000, .failures = 0, .last_error = ""};
  (void)inv.observe(managed, e);
  (void)inv.observe(file_target("/c/a.pem"), entry(file_target("/c/a.pem"), {{kA}}, {}));
  const auto* a = inv.certificates().find(kA);
  REQUIRE(a != nullptr);
  const auto* m = a->managed_state();
  REQUIRE(m != nullptr);
  CHECK(m->name == "broker");
  CHECK(m->healthy(1999));
  CHECK_FALSE(m->healthy(2000));
  // The managed place goes: so does the renewal state.
  (void)inv.remove(managed);
  CHECK(inv.certificates().find(kA)->managed_state() == nullptr);
  CHECK(inv.certificates().find(kA)->record->sha256 == kA);
}

TEST_CASE(
    "certificates: a CA in many chain files is one certificate whose updates do not "
    "walk its places",
    "[agent][inventory]") {
  Inventory inv;
  // 20,000 chain files, each with its own leaf and the same CA, the CA expiring soon in each.
  const int n = 20000;
  auto leaf = [](int i) {
    std::string h = std::to_string(i);
    return std::string(64 - h.size(), 'c') + h;
  };
  for (int i = 0; i < n; ++i) {
    const auto t = file_target("/chains/" + std::to_string(i) + ".pem");
    (void)inv.observe(t,
                      entry(t, {{leaf(i)}, {kB}}, {{"cert.expires_soon", 1, Severity::warning}}));
  }
  const auto* ca = inv.certificates().find(kB);
  REQUIRE(ca != nullptr);
  CHECK(ca->places.size() == static_cast<std::size_t>(n));
  REQUIRE(ca->findings().size() == 1);
  CHECK(ca->tallies.at(0).count == static_cast<uint32_t>(n));
  // Seen again unchanged, each: no place change, no finding change.
  for (int i = 0; i < n; i += 997) {
    const auto t = file_target("/chains/" + std::to_string(i) + ".pem");
    auto c =
        inv.observe(t, entry(t, {{leaf(i)}, {kB}}, {{"cert.expires_soon", 1, Severity::warning}}));
    CHECK_FALSE(change_of(c.certificates, kB).places_changed);
    CHECK(change_of(c.certificates, kB).raised.empty());
  }
  // The representative's file goes: another file speaks for the finding.
  const std::string rep = ca->findings().at(0).target;
  const auto rep_target = file_target(rep.substr(0, rep.find('#')));
  (void)inv.remove(rep_target);
  REQUIRE(inv.certificates().find(kB)->findings().size() == 1);
  CHECK(inv.certificates().find(kB)->findings().at(0).target != rep);
  CHECK(inv.certificates().find(kB)->places.size() == static_cast<std::size_t>(n - 1));
}
