#include "agent/inventory/inventory.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "agent/watch/file_source.h"

using certwatch::agent::ChangeKind;
using certwatch::agent::file_target;
using certwatch::agent::Inventory;
using certwatch::agent::InventoryEntry;

namespace {

// An entry as a source without state of its own makes it (ledger, managed): no FileState.
InventoryEntry stateless_entry(std::vector<std::string> fingerprints,
                               std::vector<std::string> finding_ids) {
  InventoryEntry e;
  int i = 0;
  for (auto& fp : fingerprints) {
    certwatch::pki::CertRecord c;
    c.index = i++;
    c.sha256 = fp;
    e.report.certs.push_back(c);
  }
  for (auto& id : finding_ids)
    e.report.findings.push_back(
        certwatch::pki::Finding{id, certwatch::pki::Severity::warning, "/x/a.pem", "m"});
  return e;
}

// An entry as the scanner makes it: with the file's state.
InventoryEntry inventory_entry(std::vector<std::string> fingerprints,
                               std::vector<std::string> finding_ids) {
  InventoryEntry e = stateless_entry(fingerprints, std::move(finding_ids));
  e.state.emplace<certwatch::agent::FileState>();
  e.file()->read_ok = true;
  e.file()->hash = certwatch::agent::content_hash(fingerprints.empty() ? "" : fingerprints[0]);
  return e;
}

}  // namespace

TEST_CASE("inventory replaces entries on observe and reports the difference",
          "[agent][inventory]") {
  Inventory inv;
  auto c = inv.observe(file_target("/x/a.pem"), inventory_entry({"aa", "bb"}, {"chain.order"}));
  CHECK(c.kind == ChangeKind::added);
  CHECK(c.raised.size() == 1);
  CHECK(inv.certificate_count() == 2);
  const auto g1 = inv.generation();

  c = inv.observe(file_target("/x/a.pem"), inventory_entry({"aa", "bb"}, {"chain.order"}));
  CHECK(c.kind == ChangeKind::unchanged);
  CHECK(c.raised.empty());
  CHECK(c.cleared.empty());

  c = inv.observe(file_target("/x/a.pem"),
                  inventory_entry({"aa", "cc", "dd"}, {"cert.missing_ski"}));
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
  (void)inv.observe(file_target("/w/a.pem"), inventory_entry({"a"}, {}));
  (void)inv.observe(file_target("/w/sub/b.pem"), inventory_entry({"b"}, {"leaf.no_san"}));
  (void)inv.observe(file_target("/w/sub/c.pem"), inventory_entry({"c"}, {}));
  (void)inv.observe(file_target("/w/subway.pem"), inventory_entry({"d"}, {}));
  auto under = certwatch::agent::file_targets_under(inv, "/w/sub");
  CHECK(under.size() == 2);
  std::vector<certwatch::agent::InventoryChange> gone;
  for (const auto& t : under) gone.push_back(*inv.remove(file_target(t)));
  CHECK(inv.size() == 2);
  CHECK(inv.find(file_target("/w/subway.pem")) != nullptr);
  CHECK(inv.certificate_count() == 2);
  for (const auto& c : gone) CHECK(c.kind == ChangeKind::removed);
  auto r = inv.remove(file_target("/w/a.pem"));
  REQUIRE(r.has_value());
  CHECK(r->kind == ChangeKind::removed);
  CHECK_FALSE(inv.remove(file_target("/w/a.pem")).has_value());
}

TEST_CASE("inventory shares identical certificate records between targets", "[agent][inventory]") {
  Inventory inv;
  (void)inv.observe(file_target("/x/a.pem"), inventory_entry({"leaf-a", "int"}, {}));
  (void)inv.observe(file_target("/x/b.pem"), inventory_entry({"leaf-b", "int"}, {}));
  const auto* a = inv.find(file_target("/x/a.pem"));
  const auto* b = inv.find(file_target("/x/b.pem"));
  REQUIRE(a->certs.size() == 2);
  REQUIRE(b->certs.size() == 2);
  CHECK(a->report.certs.empty());     // moved into the interned list
  CHECK(a->certs[1] == b->certs[1]);  // the intermediate, stored once
  CHECK(a->certs[0] != b->certs[0]);
  CHECK(a->certs[1]->sha256 == "int");
  CHECK(inv.certificate_count() == 4);
}

TEST_CASE("inventory keeps a file's stamp beside the record and lets its source update it",
          "[agent][inventory]") {
  Inventory inv;
  auto e = inventory_entry({"aa"}, {});
  e.file()->stamp.size = 10;
  e.file()->stamp.mtime_ns = 5;
  const auto g = inv.observe(file_target("/x/a.pem"), e).kind;
  CHECK(g == ChangeKind::added);
  const auto generation = inv.generation();
  certwatch::agent::FileStamp s = e.file()->stamp;
  CHECK(inv.find(file_target("/x/a.pem"))->file()->stamp == s);
  s.mtime_ns = 6;
  CHECK_FALSE(inv.find(file_target("/x/a.pem"))->file()->stamp == s);
  CHECK(inv.find(file_target("/x/a.pem"))->file()->hash == certwatch::agent::content_hash("aa"));
  CHECK_FALSE(inv.find(file_target("/x/a.pem"))->file()->hash ==
              certwatch::agent::content_hash("ab"));
  std::get<certwatch::agent::FileState>(*inv.source_state(file_target("/x/a.pem"))).stamp = s;
  CHECK(inv.find(file_target("/x/a.pem"))->file()->stamp == s);
  CHECK(inv.generation() == generation);  // nothing exported changed
  CHECK(inv.source_state(file_target("/x/other.pem")) == nullptr);
}

TEST_CASE("inventory keys targets by source and id", "[agent][inventory]") {
  Inventory inv;
  const certwatch::agent::TargetId endpoint{certwatch::agent::SourceKind::endpoint, "/x/a.pem"};
  (void)inv.observe(file_target("/x/a.pem"), inventory_entry({"aa"}, {}));
  (void)inv.observe(endpoint, inventory_entry({"bb"}, {}));
  CHECK(inv.size() == 2);
  CHECK(inv.find(endpoint)->certs[0]->sha256 == "bb");
  CHECK(inv.find(file_target("/x/a.pem"))->certs[0]->sha256 == "aa");
  CHECK(certwatch::agent::file_targets_under(inv, "/x").size() == 1);  // files only
  CHECK(to_string(endpoint.source) == "endpoint");
}

TEST_CASE("inventory reports a severity change as a change and tells every subscriber",
          "[agent][inventory]") {
  Inventory inv;
  std::vector<std::string> seen;
  inv.subscribe([&](const certwatch::agent::InventoryChange& c, const InventoryEntry* old,
                    const InventoryEntry* fresh) {
    // Called once the inventory holds the fresh entry (none after a removal); `old` is apart.
    const InventoryEntry* held = inv.find(c.target);
    CHECK(held == fresh);
    CHECK((old == nullptr || old != held));
    seen.push_back(std::to_string(static_cast<int>(c.kind)) + (fresh != nullptr ? "+" : "-"));
  });
  auto warn = inventory_entry({"aa"}, {"cert.expires_soon"});
  (void)inv.observe(file_target("/x/a.pem"), warn);
  auto crit = inventory_entry({"aa"}, {"cert.expires_soon"});
  crit.report.findings[0].severity = certwatch::pki::Severity::critical;
  auto c = inv.observe(file_target("/x/a.pem"), crit);
  CHECK(c.kind == ChangeKind::changed);
  CHECK(c.raised.empty());
  CHECK(c.cleared.empty());
  REQUIRE(c.changed.size() == 1);
  CHECK(c.changed[0].before.severity == certwatch::pki::Severity::warning);
  CHECK(c.changed[0].after.severity == certwatch::pki::Severity::critical);
  (void)inv.remove(file_target("/x/a.pem"));
  CHECK(seen == std::vector<std::string>{"0+", "1+", "3-"});
}

TEST_CASE("inventory: only a file target has file state, and managed sorts and reads as ledger",
          "[agent][inventory]") {
  using certwatch::agent::SourceKind;
  using certwatch::agent::TargetId;
  Inventory inv;
  const TargetId managed{SourceKind::managed, "managed/mosquitto"};
  const TargetId ledger_before{SourceKind::ledger, "lab-ca/a/01"};
  const TargetId ledger_after{SourceKind::ledger, "server-ca/b/02"};
  // An entry starts without source state; only the scanner gives one a FileState.
  CHECK(InventoryEntry{}.file() == nullptr);
  (void)inv.observe(ledger_after, stateless_entry({"cc"}, {}));
  (void)inv.observe(managed, stateless_entry({"bb"}, {}));
  (void)inv.observe(ledger_before, stateless_entry({"aa"}, {}));
  (void)inv.observe(file_target("/x/a.pem"), inventory_entry({"dd"}, {}));
  CHECK(inv.find(managed)->file() == nullptr);
  CHECK(inv.find(ledger_before)->file() == nullptr);
  CHECK(inv.find(file_target("/x/a.pem"))->file() != nullptr);
  CHECK(inv.size(SourceKind::managed) == 1);
  CHECK(inv.size(SourceKind::ledger) == 2);
  // The `source` label of a managed certificate stays "ledger", and its targets still sort
  // among the ledger's by id, as the API and /metrics listed them.
  CHECK(to_string(managed.source) == "ledger");
  std::vector<std::string> order;
  for (const auto& [id, e] : inv.entries()) order.push_back(id.id);
  CHECK(order ==
        std::vector<std::string>{"/x/a.pem", "lab-ca/a/01", "managed/mosquitto", "server-ca/b/02"});
  CHECK_FALSE(managed == TargetId{SourceKind::ledger, "managed/mosquitto"});
}
