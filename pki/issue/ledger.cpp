#include "pki/issue/ledger.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>
#include <utility>

#include <cctype>

#include "pki/x509/certificate.h"

namespace certwatch::pki {
namespace {

// Version 2 adds the 'superseded' status (a certificate replaced by a forced re-issue of its
// name) and the serial that replaced it; version 3 the PKCS#11 URI of a CA's key in a token.
constexpr int kSchemaVersion = 3;
constexpr int kBusyTimeoutMs = 30000;

std::string certificates_table(const std::string& table) {
  return "CREATE TABLE IF NOT EXISTS " + table + R"sql( (
  serial            TEXT    NOT NULL,
  ca                TEXT    NOT NULL,
  name              TEXT    NOT NULL,
  subject           TEXT    NOT NULL,
  sans              TEXT    NOT NULL,
  not_before        INTEGER NOT NULL,
  not_after         INTEGER NOT NULL,
  sha256            TEXT    NOT NULL UNIQUE,
  key_type          TEXT    NOT NULL,
  profile           TEXT    NOT NULL,
  status            TEXT    NOT NULL DEFAULT 'valid'
                            CHECK (status IN ('valid', 'revoked', 'superseded')),
  issued_at         INTEGER NOT NULL,
  revoked_at        INTEGER NOT NULL DEFAULT 0,
  revocation_reason TEXT    NOT NULL DEFAULT '',
  superseded_by     TEXT    NOT NULL DEFAULT '',
  key_uri           TEXT    NOT NULL DEFAULT '',
  PRIMARY KEY (ca, serial)
);
)sql";
}

constexpr const char* kOtherTables = R"sql(
CREATE INDEX IF NOT EXISTS certificates_name ON certificates (name);
CREATE TABLE IF NOT EXISTS crl_numbers (
  ca     TEXT    PRIMARY KEY,
  number INTEGER NOT NULL
);
)sql";

// Version 1 to 2: SQLite cannot change a CHECK constraint in place, so the table is rebuilt
// (inside the migration's transaction: all or nothing).
std::string migration_from_v1() {
  return certificates_table("certificates_v2") +
         "INSERT INTO certificates_v2 (serial, ca, name, subject, sans, not_before, not_after, "
         "sha256, "
         "key_type, profile, status, issued_at, revoked_at, revocation_reason) "
         "SELECT serial, ca, name, subject, sans, not_before, not_after, sha256, key_type, "
         "profile, "
         "status, issued_at, revoked_at, revocation_reason FROM certificates;\n"
         "DROP TABLE certificates;\n"
         "ALTER TABLE certificates_v2 RENAME TO certificates;\n";
}

constexpr const char* kMigrationFromV2 =
    "ALTER TABLE certificates ADD COLUMN key_uri TEXT NOT NULL DEFAULT '';\n";

constexpr const char* kColumns =
    "serial, ca, name, subject, sans, not_before, not_after, sha256, key_type, profile, status, "
    "issued_at, revoked_at, revocation_reason, superseded_by, key_uri";

// One prepared statement, finalized on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return rc_ == SQLITE_OK; }
  std::string error() const { return sqlite3_errmsg(db_); }
  Stmt& bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  int step() { return sqlite3_step(s_); }
  std::string text(int i) const {
    const auto* p = sqlite3_column_text(s_, i);
    return p != nullptr ? std::string(reinterpret_cast<const char*>(p)) : std::string();
  }
  int64_t integer(int i) const { return sqlite3_column_int64(s_, i); }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
  int rc_;
};

std::vector<std::string> split_sans(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

LedgerEntry row(const Stmt& st) {
  LedgerEntry e;
  e.serial = st.text(0);
  e.ca = st.text(1);
  e.name = st.text(2);
  e.subject = st.text(3);
  e.sans = split_sans(st.text(4));
  e.not_before = st.integer(5);
  e.not_after = st.integer(6);
  e.sha256 = st.text(7);
  e.key_type = st.text(8);
  e.profile = st.text(9);
  e.status = st.text(10);
  e.issued_at = st.integer(11);
  e.revoked_at = st.integer(12);
  e.revocation_reason = st.text(13);
  e.superseded_by = st.text(14);
  e.key_uri = st.text(15);
  return e;
}

Result<std::vector<LedgerEntry>> collect(Stmt& st) {
  std::vector<LedgerEntry> out;
  int rc;
  while ((rc = st.step()) == SQLITE_ROW) out.push_back(row(st));
  if (rc != SQLITE_DONE) return make_error("ledger query failed: " + st.error());
  return out;
}

std::string normalize_serial_or_empty(const std::string& serial);

}  // namespace

std::string normalize_serial(const std::string& serial) {
  std::string out;
  for (char c : serial) {
    if (c == ':' || std::isspace(static_cast<unsigned char>(c))) continue;
    out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  if (out.rfind("0X", 0) == 0) out.erase(0, 2);
  size_t nz = out.find_first_not_of('0');
  out = nz == std::string::npos ? std::string("0") : out.substr(nz);
  return out;
}

Result<Ledger> Ledger::open(const std::filesystem::path& path) {
  // Create the file ourselves first so that it is 0600 from its first byte (SQLite uses 0644).
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return make_error("cannot open ledger " + path.string());
  ::close(fd);
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return make_error("cannot open ledger " + path.string() + ": " + msg);
  }
  Ledger ledger(db);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  // WAL lets readers run beside one writer; FULL sync makes each issuance durable before the
  // command reports success (the files it wrote are fsynced too).
  if (auto r = ledger.exec("PRAGMA journal_mode=WAL"); !r) return r.error();
  if (auto r = ledger.exec("PRAGMA synchronous=FULL"); !r) return r.error();
  if (auto r = ledger.exec("PRAGMA foreign_keys=ON"); !r) return r.error();
  auto migrate = ledger.in_transaction([&]() -> Result<void> {
    int64_t version = 0;
    {  // finalized before the migration: an open statement would lock the table it drops
      Stmt v(db, "PRAGMA user_version");
      if (!v.ok() || v.step() != SQLITE_ROW) return make_error("cannot read ledger version");
      version = v.integer(0);
    }
    if (version > kSchemaVersion)
      return make_error("ledger " + path.string() + " has schema version " +
                        std::to_string(version) + ", newer than this certwatch understands");
    if (version == 1) {
      if (auto r = ledger.exec(migration_from_v1().c_str()); !r) return r;
    } else if (version == 2) {
      if (auto r = ledger.exec(kMigrationFromV2); !r) return r;
    } else if (auto r = ledger.exec(certificates_table("certificates").c_str()); !r) {
      return r;
    }
    if (auto r = ledger.exec(kOtherTables); !r) return r;
    return ledger.exec(("PRAGMA user_version=" + std::to_string(kSchemaVersion)).c_str());
  });
  if (!migrate) return migrate.error();
  return ledger;
}

Ledger::~Ledger() {
  if (db_ != nullptr) sqlite3_close(db_);
}

Ledger::Ledger(Ledger&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

Ledger& Ledger::operator=(Ledger&& other) noexcept {
  if (this != &other) {
    if (db_ != nullptr) sqlite3_close(db_);
    db_ = std::exchange(other.db_, nullptr);
  }
  return *this;
}

Result<void> Ledger::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err != nullptr ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    return make_error("ledger: " + msg);
  }
  return {};
}

Result<void> Ledger::in_transaction(const std::function<Result<void>()>& fn) {
  if (auto r = exec("BEGIN IMMEDIATE"); !r) return r;
  auto r = fn();
  if (!r) {
    (void)exec("ROLLBACK");
    return r;
  }
  if (auto c = exec("COMMIT"); !c) {
    (void)exec("ROLLBACK");
    return c;
  }
  return {};
}

namespace {
std::string normalize_serial_or_empty(const std::string& serial) {
  return serial.empty() ? std::string() : normalize_serial(serial);
}
}  // namespace

Result<void> Ledger::insert(const LedgerEntry& e) {
  Stmt st(
      db_,
      "INSERT INTO certificates (serial, ca, name, subject, sans, not_before, not_after, sha256, "
      "key_type, profile, status, issued_at, revoked_at, revocation_reason, superseded_by, "
      "key_uri) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)");
  if (!st.ok()) return make_error("ledger: " + st.error());
  st.bind(1, normalize_serial(e.serial)).bind(2, e.ca).bind(3, e.name).bind(4, e.subject);
  st.bind(5, join_sans(e.sans)).bind(6, e.not_before).bind(7, e.not_after).bind(8, e.sha256);
  st.bind(9, e.key_type).bind(10, e.profile).bind(11, e.status).bind(12, e.issued_at);
  st.bind(13, e.revoked_at)
      .bind(14, e.revocation_reason)
      .bind(15, normalize_serial_or_empty(e.superseded_by))
      .bind(16, e.key_uri);
  if (st.step() != SQLITE_DONE)
    return make_error("ledger: cannot record " + e.serial + ": " + st.error());
  return {};
}

Result<int> Ledger::supersede(const std::string& ca, const std::string& name,
                              const std::string& by_serial) {
  Stmt st(db_,
          "UPDATE certificates SET status = 'superseded', superseded_by = ?1 "
          "WHERE ca = ?2 AND name = ?3 AND status = 'valid' AND serial != ?1");
  if (!st.ok()) return make_error("ledger: " + st.error());
  st.bind(1, normalize_serial(by_serial)).bind(2, ca).bind(3, name);
  if (st.step() != SQLITE_DONE) return make_error("ledger: " + st.error());
  return sqlite3_changes(db_);
}

Result<std::vector<LedgerEntry>> Ledger::list(const std::optional<std::string>& ca) {
  std::string sql = std::string("SELECT ") + kColumns + " FROM certificates";
  if (ca) sql += " WHERE ca = ?1";
  sql += " ORDER BY issued_at DESC, rowid DESC";
  Stmt st(db_, sql.c_str());
  if (!st.ok()) return make_error("ledger: " + st.error());
  if (ca) st.bind(1, *ca);
  return collect(st);
}

Result<std::vector<LedgerEntry>> Ledger::find_serial(const std::string& serial,
                                                     const std::optional<std::string>& ca) {
  std::string sql = std::string("SELECT ") + kColumns + " FROM certificates WHERE serial = ?1";
  if (ca) sql += " AND ca = ?2";
  Stmt st(db_, sql.c_str());
  if (!st.ok()) return make_error("ledger: " + st.error());
  st.bind(1, normalize_serial(serial));
  if (ca) st.bind(2, *ca);
  return collect(st);
}

Result<std::vector<LedgerEntry>> Ledger::find_name(const std::string& name,
                                                   const std::optional<std::string>& ca) {
  std::string sql =
      std::string("SELECT ") + kColumns + " FROM certificates WHERE name = ?1 AND status = 'valid'";
  if (ca) sql += " AND ca = ?2";
  sql += " ORDER BY issued_at DESC, rowid DESC";
  Stmt st(db_, sql.c_str());
  if (!st.ok()) return make_error("ledger: " + st.error());
  st.bind(1, name);
  if (ca) st.bind(2, *ca);
  return collect(st);
}

Result<void> Ledger::revoke(const std::string& ca, const std::string& serial,
                            const std::string& reason, int64_t when) {
  return in_transaction([&]() -> Result<void> {
    Stmt st(db_,
            "UPDATE certificates SET status = 'revoked', revoked_at = ?1, revocation_reason = ?2 "
            "WHERE ca = ?3 AND serial = ?4 AND status IN ('valid', 'superseded')");
    if (!st.ok()) return make_error("ledger: " + st.error());
    st.bind(1, when).bind(2, reason).bind(3, ca).bind(4, normalize_serial(serial));
    if (st.step() != SQLITE_DONE) return make_error("ledger: " + st.error());
    if (sqlite3_changes(db_) != 1)
      return make_error("no unrevoked certificate with serial " + serial + " issued by " + ca);
    return {};
  });
}

Result<int> Ledger::withdraw(const std::string& ca, const std::string& serial, int64_t when) {
  int reinstated = 0;
  auto done = in_transaction([&]() -> Result<void> {
    Stmt rv(db_,
            "UPDATE certificates SET status = 'revoked', revoked_at = ?1, "
            "revocation_reason = 'superseded' WHERE ca = ?2 AND serial = ?3 AND status = 'valid'");
    if (!rv.ok()) return make_error("ledger: " + rv.error());
    rv.bind(1, when).bind(2, ca).bind(3, normalize_serial(serial));
    if (rv.step() != SQLITE_DONE) return make_error("ledger: " + rv.error());
    if (sqlite3_changes(db_) != 1)
      return make_error("no valid certificate with serial " + serial + " issued by " + ca);
    Stmt re(db_,
            "UPDATE certificates SET status = 'valid', superseded_by = '' "
            "WHERE ca = ?1 AND superseded_by = ?2 AND status = 'superseded'");
    if (!re.ok()) return make_error("ledger: " + re.error());
    re.bind(1, ca).bind(2, normalize_serial(serial));
    if (re.step() != SQLITE_DONE) return make_error("ledger: " + re.error());
    reinstated = sqlite3_changes(db_);
    return {};
  });
  if (!done) return done.error();
  return reinstated;
}

Result<int> Ledger::reinstate(const std::string& ca, const std::string& live_serial, int64_t when) {
  // Each round withdraws the current end of the chain that starts at the live certificate; a
  // chain is as long as the crashes that made it, so the bound is generous.
  constexpr int kMaxRounds = 64;
  int withdrawn = 0;
  for (int round = 0; round < kMaxRounds; ++round) {
    auto live = find_serial(live_serial, ca);
    if (!live) return live.error();
    if (live->empty() || live->front().status != "superseded") return withdrawn;
    std::string tip = live->front().superseded_by;
    for (int step = 0; step < kMaxRounds; ++step) {
      auto row = find_serial(tip, ca);
      if (!row) return row.error();
      if (row->empty())
        return make_error("ledger: " + live_serial + " was superseded by " + tip +
                          ", which is not in the ledger");
      if (row->front().status == "valid") break;
      if (row->front().status != "superseded")
        return make_error("ledger: the live certificate " + live_serial + " was superseded by " +
                          tip + ", which is " + row->front().status);
      tip = row->front().superseded_by;
    }
    auto n = withdraw(ca, tip, when);
    if (!n) return n.error();
    ++withdrawn;
  }
  return make_error("ledger: " + live_serial + " is still superseded after " +
                    std::to_string(kMaxRounds) + " withdrawals");
}

Result<std::vector<LedgerEntry>> Ledger::revoked(const std::string& ca) {
  Stmt st(db_, (std::string("SELECT ") + kColumns +
                " FROM certificates WHERE ca = ?1 AND status = 'revoked' ORDER BY revoked_at")
                   .c_str());
  if (!st.ok()) return make_error("ledger: " + st.error());
  st.bind(1, ca);
  return collect(st);
}

Result<int64_t> Ledger::next_crl_number(const std::string& ca) {
  int64_t number = 0;
  auto r = in_transaction([&]() -> Result<void> {
    Stmt up(db_,
            "INSERT INTO crl_numbers (ca, number) VALUES (?1, 1) "
            "ON CONFLICT (ca) DO UPDATE SET number = number + 1");
    if (!up.ok()) return make_error("ledger: " + up.error());
    up.bind(1, ca);
    if (up.step() != SQLITE_DONE) return make_error("ledger: " + up.error());
    Stmt get(db_, "SELECT number FROM crl_numbers WHERE ca = ?1");
    if (!get.ok()) return make_error("ledger: " + get.error());
    get.bind(1, ca);
    if (get.step() != SQLITE_ROW) return make_error("ledger: " + get.error());
    number = get.integer(0);
    return {};
  });
  if (!r) return r.error();
  return number;
}

}  // namespace certwatch::pki
