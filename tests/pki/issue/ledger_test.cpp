#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pki/issue/ledger.h"
#include "support/fixtures.h"

using namespace certwatch;
using namespace certwatch::pki;

namespace {
LedgerEntry make_entry(const std::string& serial, const std::string& ca, const std::string& name) {
  LedgerEntry e;
  e.serial = serial;
  e.ca = ca;
  e.name = name;
  e.subject = "CN=" + name;
  e.sans = {"DNS:" + name + ".lab.local", "IP:127.0.0.1"};
  e.not_before = 1000;
  e.not_after = 2000;
  e.sha256 = "sha-" + serial;
  e.key_type = "ec-p256";
  e.profile = "server";
  e.issued_at = 1500;
  return e;
}

// A renewal's issuance: the new entry, and the valid ones of its name superseded by it.
certwatch::Result<void> issue_superseding(Ledger& ledger, const std::string& serial) {
  auto e = make_entry(serial, "server-ca", "broker");
  return ledger.in_transaction([&]() -> certwatch::Result<void> {
    if (auto r = ledger.insert(e); !r) return r;
    if (auto n = ledger.supersede("server-ca", "broker", serial); !n) return n.error();
    return {};
  });
}

}  // namespace

TEST_CASE("ledger records, lists, finds and revokes", "[pki][ledger]") {
  testing::TempDir tmp;
  auto ledger = Ledger::open(tmp / "ledger.sqlite");
  REQUIRE(ledger.ok());
  struct stat st {};
  REQUIRE(::stat((tmp / "ledger.sqlite").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  REQUIRE(ledger->insert(make_entry("0A1B", "server-ca", "mqtt")).ok());
  REQUIRE(ledger->insert(make_entry("0C2D", "root-ca", "client")).ok());
  // The same serial under the same CA is refused (primary key), as is the same fingerprint.
  CHECK_FALSE(ledger->insert(make_entry("a1b", "server-ca", "dup")).ok());

  auto all = ledger->list();
  REQUIRE(all.ok());
  CHECK(all->size() == 2);
  auto only = ledger->list(std::string("server-ca"));
  REQUIRE(only.ok());
  REQUIRE(only->size() == 1);
  const auto& e = only->front();
  CHECK(e.serial == "A1B");
  CHECK(e.sans == std::vector<std::string>{"DNS:mqtt.lab.local", "IP:127.0.0.1"});
  CHECK(e.status == "valid");
  CHECK(e.key_type == "ec-p256");

  auto by_serial = ledger->find_serial("00:0a:1b");
  REQUIRE(by_serial.ok());
  REQUIRE(by_serial->size() == 1);
  CHECK(by_serial->front().name == "mqtt");
  auto by_name = ledger->find_name("client");
  REQUIRE(by_name.ok());
  CHECK(by_name->size() == 1);

  REQUIRE(ledger->revoke("server-ca", "0a1b", "keyCompromise", 1700).ok());
  CHECK_FALSE(ledger->revoke("server-ca", "0a1b", "keyCompromise", 1700).ok());  // already
  CHECK_FALSE(ledger->revoke("root-ca", "FFFF", "superseded", 1700).ok());       // unknown
  auto revoked = ledger->revoked("server-ca");
  REQUIRE(revoked.ok());
  REQUIRE(revoked->size() == 1);
  CHECK(revoked->front().revocation_reason == "keyCompromise");
  CHECK(revoked->front().revoked_at == 1700);
  CHECK(ledger->find_name("mqtt")->empty());  // revoked entries are not "valid by name"

  CHECK(*ledger->next_crl_number("server-ca") == 1);
  CHECK(*ledger->next_crl_number("server-ca") == 2);
  CHECK(*ledger->next_crl_number("root-ca") == 1);
}

TEST_CASE("a failed transaction leaves no row", "[pki][ledger]") {
  testing::TempDir tmp;
  auto ledger = Ledger::open(tmp / "ledger.sqlite");
  REQUIRE(ledger.ok());
  auto r = ledger->in_transaction([&]() -> Result<void> {
    if (auto i = ledger->insert(make_entry("01", "root-ca", "x")); !i) return i;
    return make_error("file write failed");
  });
  CHECK_FALSE(r.ok());
  CHECK(ledger->list()->empty());
}

TEST_CASE("concurrent processes append to one ledger without loss", "[pki][ledger]") {
  testing::TempDir tmp;
  const auto path = tmp / "ledger.sqlite";
  REQUIRE(Ledger::open(path).ok());
  constexpr int kProcs = 4, kEach = 40;
  std::vector<pid_t> pids;
  for (int p = 0; p < kProcs; ++p) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      int failures = 0;
      {
        auto l = Ledger::open(path);
        if (!l) ::_exit(2);
        for (int i = 0; i < kEach; ++i) {
          char serial[32];
          std::snprintf(serial, sizeof serial, "%02X%04X", p + 1, i + 1);
          auto r = l->in_transaction([&] { return l->insert(make_entry(serial, "root-ca", "n")); });
          if (!r) ++failures;
        }
      }
      ::_exit(failures == 0 ? 0 : 1);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  auto l = Ledger::open(path);
  REQUIRE(l.ok());
  CHECK(l->list()->size() == static_cast<size_t>(kProcs * kEach));
}

TEST_CASE("serials normalise for lookups", "[pki][ledger]") {
  CHECK(normalize_serial("00:ab:CD") == "ABCD");
  CHECK(normalize_serial("0x0001") == "1");
  CHECK(normalize_serial("000") == "0");
}

TEST_CASE("superseded entries leave the name to their replacement and stay revocable", "[pki][ledger]") {
  testing::TempDir tmp;
  auto ledger = Ledger::open(tmp / "ledger.sqlite");
  REQUIRE(ledger.ok());
  REQUIRE(ledger->insert(make_entry("01", "server-ca", "mqtt")).ok());
  REQUIRE(ledger->insert(make_entry("02", "other-ca", "mqtt")).ok());  // same name, other CA
  REQUIRE(ledger->insert(make_entry("03", "server-ca", "mqtt")).ok());
  auto n = ledger->supersede("server-ca", "mqtt", "03");
  REQUIRE(n.ok());
  CHECK(*n == 1);
  auto old = ledger->find_serial("01");
  REQUIRE(old.ok());
  REQUIRE(old->size() == 1);
  CHECK(old->front().status == "superseded");
  CHECK(old->front().superseded_by == "3");
  CHECK(ledger->find_serial("02")->front().status == "valid");  // another CA's is untouched
  auto by_name = ledger->find_name("mqtt", std::string("server-ca"));
  REQUIRE(by_name.ok());
  REQUIRE(by_name->size() == 1);
  CHECK(by_name->front().serial == "3");
  CHECK(*ledger->supersede("server-ca", "mqtt", "03") == 0);  // nothing left to supersede
  // A superseded certificate is still valid cryptographically: it can be revoked by serial.
  REQUIRE(ledger->revoke("server-ca", "01", "superseded", 1800).ok());
  CHECK(ledger->find_serial("01")->front().status == "revoked");
  CHECK(ledger->revoked("server-ca")->size() == 1);
}

TEST_CASE("a version 1 ledger is migrated with every row kept", "[pki][ledger]") {
  testing::TempDir tmp;
  const auto path = tmp / "ledger.sqlite";
  // The version 1 schema, as the first release wrote it, with one valid and one revoked row.
  const std::string v1 = R"sql(
CREATE TABLE certificates (
  serial TEXT NOT NULL, ca TEXT NOT NULL, name TEXT NOT NULL, subject TEXT NOT NULL,
  sans TEXT NOT NULL, not_before INTEGER NOT NULL, not_after INTEGER NOT NULL,
  sha256 TEXT NOT NULL UNIQUE, key_type TEXT NOT NULL, profile TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'valid' CHECK (status IN ('valid', 'revoked')),
  issued_at INTEGER NOT NULL, revoked_at INTEGER NOT NULL DEFAULT 0,
  revocation_reason TEXT NOT NULL DEFAULT '', PRIMARY KEY (ca, serial));
CREATE INDEX certificates_name ON certificates (name);
CREATE TABLE crl_numbers (ca TEXT PRIMARY KEY, number INTEGER NOT NULL);
INSERT INTO certificates VALUES ('AA', 'root-ca', 'one', 'CN=one', 'DNS:one', 1, 2, 'h1', 'ec-p256', 'server', 'valid', 1, 0, '');
INSERT INTO certificates VALUES ('BB', 'root-ca', 'two', 'CN=two', '', 1, 2, 'h2', 'rsa-2048', 'client', 'revoked', 1, 5, 'keyCompromise');
INSERT INTO crl_numbers VALUES ('root-ca', 7);
PRAGMA user_version=1;
)sql";
  REQUIRE(testing::have_program("sqlite3"));
  auto r = testing::run({"sqlite3", path.string()}, std::chrono::seconds(10), v1);
  REQUIRE(r.exit_code == 0);
  auto ledger = Ledger::open(path);
  if (!ledger.ok()) FAIL(ledger.error().message);
  auto all = ledger->list();
  REQUIRE(all.ok());
  REQUIRE(all->size() == 2);
  auto two = ledger->find_serial("BB");
  REQUIRE(two->size() == 1);
  CHECK(two->front().status == "revoked");
  CHECK(two->front().revocation_reason == "keyCompromise");
  CHECK(two->front().key_type == "rsa-2048");
  CHECK(*ledger->next_crl_number("root-ca") == 8);  // the CRL numbering continues
  // The new status works on the migrated table.
  REQUIRE(ledger->insert(make_entry("CC", "root-ca", "one")).ok());
  CHECK(*ledger->supersede("root-ca", "one", "CC") == 1);
  auto version = testing::run({"sqlite3", path.string(), "PRAGMA user_version;"});
  CHECK(version.out == "3\n");
}

TEST_CASE("a version 2 ledger gains the key URI column with every row kept", "[pki][ledger]") {
  testing::TempDir tmp;
  const auto path = tmp / "ledger.sqlite";
  // The version 2 schema (7fba276) with one superseded row.
  const std::string v2 = R"sql(
CREATE TABLE certificates (
  serial TEXT NOT NULL, ca TEXT NOT NULL, name TEXT NOT NULL, subject TEXT NOT NULL,
  sans TEXT NOT NULL, not_before INTEGER NOT NULL, not_after INTEGER NOT NULL,
  sha256 TEXT NOT NULL UNIQUE, key_type TEXT NOT NULL, profile TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'valid' CHECK (status IN ('valid', 'revoked', 'superseded')),
  issued_at INTEGER NOT NULL, revoked_at INTEGER NOT NULL DEFAULT 0,
  revocation_reason TEXT NOT NULL DEFAULT '', superseded_by TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (ca, serial));
CREATE INDEX certificates_name ON certificates (name);
CREATE TABLE crl_numbers (ca TEXT PRIMARY KEY, number INTEGER NOT NULL);
INSERT INTO certificates VALUES ('AA', 'root-ca', 'one', 'CN=one', 'DNS:one', 1, 2, 'h1', 'ec-p256', 'server', 'superseded', 1, 0, '', 'BB');
PRAGMA user_version=2;
)sql";
  REQUIRE(testing::have_program("sqlite3"));
  REQUIRE(testing::run({"sqlite3", path.string()}, std::chrono::seconds(10), v2).exit_code == 0);
  auto ledger = Ledger::open(path);
  if (!ledger.ok()) FAIL(ledger.error().message);
  auto one = ledger->find_serial("AA");
  REQUIRE(one->size() == 1);
  CHECK(one->front().status == "superseded");
  CHECK(one->front().superseded_by == "BB");
  CHECK(one->front().key_uri.empty());
  auto ca = make_entry("CC", "root-ca", "server-ca");
  ca.key_uri = "pkcs11:token=ca;object=server-ca;type=private?module-path=/m.so";
  REQUIRE(ledger->insert(ca).ok());
  CHECK(ledger->find_serial("CC")->front().key_uri == ca.key_uri);
  CHECK(testing::run({"sqlite3", path.string(), "PRAGMA user_version;"}).out == "3\n");
}

TEST_CASE("withdraw: an issuance that never went live is revoked and the one it superseded is current again",
          "[pki][ledger]") {
  testing::TempDir tmp;
  auto ledger = Ledger::open(tmp / "ledger.sqlite");
  REQUIRE(ledger.ok());
  REQUIRE(ledger->insert(make_entry("0A", "server-ca", "broker")).ok());
  REQUIRE(issue_superseding(*ledger, "0B").ok());
  REQUIRE(ledger->find_name("broker")->front().serial == "B");
  auto n = ledger->withdraw("server-ca", "0B", 4000);
  REQUIRE(n.ok());
  CHECK(*n == 1);
  auto current = ledger->find_name("broker");
  REQUIRE(current->size() == 1);
  CHECK(current->front().serial == "A");
  CHECK(current->front().superseded_by.empty());
  auto gone = ledger->find_serial("0B")->front();
  CHECK(gone.status == "revoked");
  CHECK(gone.revocation_reason == "superseded");
  CHECK(ledger->revoked("server-ca")->size() == 1);
  // Only a valid certificate can be withdrawn, once.
  CHECK_FALSE(ledger->withdraw("server-ca", "0B", 4001).ok());
}

TEST_CASE("reinstate: the live certificate is current again after two issuances that never went live",
          "[pki][ledger]") {
  testing::TempDir tmp;
  auto ledger = Ledger::open(tmp / "ledger.sqlite");
  REQUIRE(ledger.ok());
  REQUIRE(issue_superseding(*ledger, "0A").ok());  // live
  REQUIRE(issue_superseding(*ledger, "0B").ok());  // crashed before its deploy
  REQUIRE(issue_superseding(*ledger, "0C").ok());  // crashed again
  CHECK(ledger->find_name("broker")->front().serial == "C");
  auto n = ledger->reinstate("server-ca", "0A", 5000);
  REQUIRE(n.ok());
  CHECK(*n == 2);
  auto current = ledger->find_name("broker");
  REQUIRE(current->size() == 1);
  CHECK(current->front().serial == "A");
  for (const char* s : {"0B", "0C"}) {
    auto gone = ledger->find_serial(s)->front();
    CHECK(gone.status == "revoked");
    CHECK(gone.revocation_reason == "superseded");
  }
  // Current already, or unknown: nothing changes.
  CHECK(*ledger->reinstate("server-ca", "0A", 5001) == 0);
  CHECK(*ledger->reinstate("server-ca", "0F", 5001) == 0);
  CHECK(ledger->revoked("server-ca")->size() == 2);
}

TEST_CASE("reinstate: a live certificate superseded by a revoked one is an error, nothing changed",
          "[pki][ledger]") {
  testing::TempDir tmp;
  auto ledger = Ledger::open(tmp / "ledger.sqlite");
  REQUIRE(ledger.ok());
  REQUIRE(ledger->insert(make_entry("0A", "server-ca", "broker")).ok());
  REQUIRE(issue_superseding(*ledger, "0B").ok());
  REQUIRE(ledger->revoke("server-ca", "0B", "keyCompromise", 4000).ok());
  auto n = ledger->reinstate("server-ca", "0A", 5000);
  CHECK_FALSE(n.ok());
  CHECK(ledger->find_serial("0A")->front().status == "superseded");
}
