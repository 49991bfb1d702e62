#include <catch2/catch.hpp>

#include "agent/inventory.h"

using certwatch::agent::ChangeKind;
using certwatch::agent::Inventory;
using certwatch::agent::InventoryEntry;

namespace {

InventoryEntry entry(std::vector<std::string> fingerprints, std::vector<std::string> finding_ids) {
  InventoryEntry e;
  e.read_ok = true;
  int i = 0;
  for (auto& fp : fingerprints) {
    pki::CertRecord c;
    c.index = i++;
    c.sha256 = fp;
    e.report.certs.push_back(c);
  }
  for (auto& id : finding_ids)
    e.report.findings.push_back(pki::Finding{id, pki::Severity::warning, "/x/a.pem", "m"});
  e.hash = certwatch::agent::content_hash(fingerprints.empty() ? "" : fingerprints[0]);
  return e;
}

}  // namespace

TEST_CASE("inventory replaces entries on observe and reports the difference", "[agent][inventory]") {
  Inventory inv;
  auto c = inv.observe("/x/a.pem", entry({"aa", "bb"}, {"chain.order"}));
  CHECK(c.kind == ChangeKind::added);
  CHECK(c.raised.size() == 1);
  CHECK(inv.certificate_count() == 2);
  const auto g1 = inv.generation();

  c = inv.observe("/x/a.pem", entry({"aa", "bb"}, {"chain.order"}));
  CHECK(c.kind == ChangeKind::unchanged);
  CHECK(c.raised.empty());
  CHECK(c.cleared.empty());

  c = inv.observe("/x/a.pem", entry({"aa", "cc", "dd"}, {"cert.missing_ski"}));
  CHECK(c.kind == ChangeKind::changed);
  CHECK(c.certs_changed);
  REQUIRE(c.raised.size() == 1);
  CHECK(c.raised[0].id == "cert.missing_ski");
  REQUIRE(c.cleared.size() == 1);
  CHECK(c.cleared[0].id == "chain.order");
  CHECK(inv.certificate_count() == 3);
  CHECK(inv.generation() > g1);
}

TEST_CASE("inventory removes targets and everything under a vanished directory",
          "[agent][inventory]") {
  Inventory inv;
  (void)inv.observe("/w/a.pem", entry({"a"}, {}));
  (void)inv.observe("/w/sub/b.pem", entry({"b"}, {"leaf.no_san"}));
  (void)inv.observe("/w/sub/c.pem", entry({"c"}, {}));
  (void)inv.observe("/w/subway.pem", entry({"d"}, {}));
  auto gone = inv.remove_under("/w/sub");
  CHECK(gone.size() == 2);
  CHECK(inv.size() == 2);
  CHECK(inv.find("/w/subway.pem") != nullptr);
  CHECK(inv.certificate_count() == 2);
  for (const auto& c : gone) CHECK(c.kind == ChangeKind::removed);
  auto r = inv.remove("/w/a.pem");
  REQUIRE(r.has_value());
  CHECK(r->kind == ChangeKind::removed);
  CHECK_FALSE(inv.remove("/w/a.pem").has_value());
}

TEST_CASE("inventory shares identical certificate records between targets", "[agent][inventory]") {
  Inventory inv;
  (void)inv.observe("/x/a.pem", entry({"leaf-a", "int"}, {}));
  (void)inv.observe("/x/b.pem", entry({"leaf-b", "int"}, {}));
  const auto* a = inv.find("/x/a.pem");
  const auto* b = inv.find("/x/b.pem");
  REQUIRE(a->certs.size() == 2);
  REQUIRE(b->certs.size() == 2);
  CHECK(a->report.certs.empty());        // moved into the interned list
  CHECK(a->certs[1] == b->certs[1]);     // the intermediate, stored once
  CHECK(a->certs[0] != b->certs[0]);
  CHECK(a->certs[1]->sha256 == "int");
  CHECK(inv.certificate_count() == 4);
}

TEST_CASE("inventory tells unchanged stamps and contents apart", "[agent][inventory]") {
  Inventory inv;
  auto e = entry({"aa"}, {});
  e.stamp.size = 10;
  e.stamp.mtime_ns = 5;
  (void)inv.observe("/x/a.pem", e);
  certwatch::agent::FileStamp s = e.stamp;
  CHECK(inv.same_stamp("/x/a.pem", s));
  s.mtime_ns = 6;
  CHECK_FALSE(inv.same_stamp("/x/a.pem", s));
  CHECK(inv.same_content("/x/a.pem", certwatch::agent::content_hash("aa")));
  CHECK_FALSE(inv.same_content("/x/a.pem", certwatch::agent::content_hash("ab")));
  inv.update_stamp("/x/a.pem", s);
  CHECK(inv.same_stamp("/x/a.pem", s));
  CHECK_FALSE(inv.same_stamp("/x/other.pem", s));
}
