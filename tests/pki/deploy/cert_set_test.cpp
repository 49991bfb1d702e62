// pki/deploy/cert_set.h: a set replaced as one unit, previous sets kept and restorable, and an
// interrupted deploy (intent record left behind) finished by recover().
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include "pki/deploy/atomic_file.h"
#include "pki/deploy/cert_set.h"
#include "support/fixtures.h"

using namespace certwatch;
using namespace certwatch::pki;
namespace fs = std::filesystem;

namespace {
CertSetBytes set_of(const std::string& tag) { return {"key-" + tag, "cert-" + tag, "chain-" + tag}; }
std::string live(const fs::path& d, const std::string& name) { return testing::read_file(d / name); }
}  // namespace

TEST_CASE("cert set: deploy writes key, cert and chain, keeps the previous sets, restores the newest",
          "[pki][cert_set]") {
  testing::TempDir tmp;
  const auto d = tmp / "etc";
  fs::create_directories(d);
  CertSetStore store(tmp / "state", {d / "k.pem", d / "c.pem", d / "ch.pem"}, 2);
  REQUIRE(store.read_live().ok());
  CHECK_FALSE(store.read_live()->has_value());
  CertSetOwnership own;
  own.key_mode = 0640;
  REQUIRE(store.deploy(set_of("1"), own).ok());
  CHECK(live(d, "k.pem") == "key-1");
  CHECK(live(d, "c.pem") == "cert-1");
  CHECK(live(d, "ch.pem") == "chain-1");
  CHECK(testing::mode_of(d / "k.pem") == 0640);
  CHECK(testing::mode_of(d / "c.pem") == 0644);
  CHECK(store.previous_sets().empty());  // nothing was live before
  // A certificate mode set by hand is kept.
  ::chmod((d / "c.pem").c_str(), 0640);
  for (const auto* tag : {"2", "3", "4"}) REQUIRE(store.deploy(set_of(tag), own).ok());
  CHECK(live(d, "k.pem") == "key-4");
  CHECK(testing::mode_of(d / "c.pem") == 0640);
  REQUIRE(store.previous_sets().size() == 2);  // keep_previous = 2: sets 3 and 2
  REQUIRE(store.restore_previous(own).ok());
  CHECK(live(d, "k.pem") == "key-3");
  CHECK(live(d, "ch.pem") == "chain-3");
  CHECK(store.previous_sets().size() == 1);
  CHECK_FALSE(fs::exists(tmp / "state" / "intent"));
}

TEST_CASE("cert set: recover() finishes a deploy whose intent record was left behind", "[pki][cert_set]") {
  testing::TempDir tmp;
  const auto d = tmp / "etc";
  fs::create_directories(d);
  CertSetStore store(tmp / "state", {d / "k.pem", d / "c.pem", std::nullopt});
  REQUIRE(store.deploy(set_of("old"), {}).ok());
  REQUIRE(store.recover({})->outcome == Recovery::Outcome::none);  // nothing interrupted
  // What a crash after the key write leaves: the new set staged, the intent, a mixed live set.
  REQUIRE(write_files_atomic({{tmp / "state" / "next" / "key.pem", "key-new"},
                              {tmp / "state" / "next" / "cert.pem", "cert-new"}}).ok());
  REQUIRE(write_file_atomic(tmp / "state" / "intent", "deploy next\n", 0600).ok());
  REQUIRE(write_file_atomic(d / "k.pem", "key-new", 0600).ok());
  auto r = store.recover({});
  REQUIRE(r.ok());
  CHECK(r->outcome == Recovery::Outcome::finished);
  CHECK(live(d, "k.pem") == "key-new");
  CHECK(live(d, "c.pem") == "cert-new");
  CHECK_FALSE(fs::exists(tmp / "state" / "intent"));
}

TEST_CASE("cert set: a failed write leaves the live set as it was", "[pki][cert_set]") {
  testing::TempDir tmp;
  const auto d = tmp / "etc";
  fs::create_directories(d);
  CertSetStore store(tmp / "state", {d / "k.pem", d / "c.pem", d / "ch.pem"});
  REQUIRE(store.deploy(set_of("1"), {}).ok());
  // The chain path is a directory now: the live key and certificate writes succeed, the
  // chain's rename fails, and the previous key and certificate are written back.
  fs::create_directories(d / "chain-dir");
  CertSetStore broken(tmp / "state", {d / "k.pem", d / "c.pem", d / "chain-dir"});
  auto r = broken.deploy(set_of("2"), {});
  REQUIRE_FALSE(r.ok());
  CHECK(live(d, "k.pem") == "key-1");
  CHECK(live(d, "c.pem") == "cert-1");
}

TEST_CASE("cert set: owner and group are given before the rename, and kept on the next deploy", "[pki][cert_set]") {
  testing::TempDir tmp;
  const auto d = tmp / "etc";
  fs::create_directories(d);
  CertSetStore store(tmp / "state", {d / "k.pem", d / "c.pem", std::nullopt});
  // Root can give the files away (the agent's usual case under systemd is its own uid with
  // a group it belongs to); otherwise our own group is the one we can give.
  const bool root = ::geteuid() == 0;
  CertSetOwnership own;
  own.uid = root ? 65534 : static_cast<uid_t>(-1);
  own.gid = root ? 65534 : ::getegid();
  own.key_mode = 0640;
  REQUIRE(store.deploy(set_of("1"), own).ok());
  struct stat st {};
  REQUIRE(::stat((d / "k.pem").c_str(), &st) == 0);
  CHECK(st.st_uid == (root ? 65534u : ::geteuid()));
  CHECK(st.st_gid == own.gid);
  CHECK((st.st_mode & 07777) == 0640);
  // Nothing configured: the next set keeps what the live files have.
  REQUIRE(store.deploy(set_of("2"), {}).ok());
  REQUIRE(::stat((d / "k.pem").c_str(), &st) == 0);
  CHECK(st.st_uid == (root ? 65534u : ::geteuid()));
  CHECK(st.st_gid == own.gid);
  CHECK((st.st_mode & 07777) == 0640);
  CHECK(live(d, "k.pem") == "key-2");
}

namespace cert_set_recovery_test {
// A store whose key and certificate live in different directories, with sets 1 and 2 deployed
// (2 live, 1 archived), then what a crash after the key write of set 3 leaves: set 2 archived
// as previous/2, set 3 staged, the intent naming previous/2, key 3 beside certificate 2.
struct Crashed {
  fs::path state, keys, certs;
  CertSetStore store;
  explicit Crashed(const fs::path& root)
      : state(root / "state"),
        keys(root / "keys"),
        certs(root / "certs"),
        store(state, {keys / "k.pem", certs / "c.pem", std::nullopt}) {
    fs::create_directories(keys);
    fs::create_directories(certs);
    REQUIRE(store.deploy(set_of("1"), {}).ok());
    REQUIRE(store.deploy(set_of("2"), {}).ok());
    fs::create_directories(state / "previous" / "2");
    REQUIRE(write_files_atomic({{state / "previous" / "2" / "key.pem", "key-2"},
                                {state / "previous" / "2" / "cert.pem", "cert-2"},
                                {state / "next" / "key.pem", "key-3"},
                                {state / "next" / "cert.pem", "cert-3"}})
                .ok());
    REQUIRE(write_file_atomic(state / "intent", "deploy next previous 2\n", 0600).ok());
    REQUIRE(write_file_atomic(keys / "k.pem", "key-3", 0600).ok());
  }
};

// `chattr +i` on a directory: even root cannot create or rename files in it (a read-only
// mount's effect, without a mount). Undone on destruction. Not every file system has it.
struct Immutable {
  fs::path dir;
  bool on = false;
  explicit Immutable(fs::path d) : dir(std::move(d)) {
    on = testing::run({"chattr", "+i", dir.string()}).exit_code == 0;
  }
  ~Immutable() {
    if (on) testing::run({"chattr", "-i", dir.string()});
  }
  Immutable(const Immutable&) = delete;
  Immutable& operator=(const Immutable&) = delete;
};
}  // namespace cert_set_recovery_test

TEST_CASE(
    "cert set: recover() abandons a staged set whose key went missing, the previous set whole "
    "again",
    "[pki][cert_set]") {
  testing::TempDir tmp;
  cert_set_recovery_test::Crashed c(tmp.path());
  fs::remove(c.state / "next" / "key.pem");
  auto r = c.store.recover({});
  REQUIRE(r.ok());
  CHECK(r->outcome == Recovery::Outcome::abandoned);
  CHECK(r->reason.find("key.pem missing") != std::string::npos);
  CHECK(live(c.keys, "k.pem") == "key-2");
  CHECK(live(c.certs, "c.pem") == "cert-2");
  CHECK_FALSE(fs::exists(c.state / "intent"));
  CHECK_FALSE(fs::exists(c.state / "previous" / "2"));  // live again, archived by the next deploy
  // Nothing blocks the next deploy.
  REQUIRE(c.store.deploy(set_of("4"), {}).ok());
  CHECK(live(c.keys, "k.pem") == "key-4");
  CHECK(live(c.certs, "c.pem") == "cert-4");
}

TEST_CASE(
    "cert set: a certificate directory that cannot be written: recovery and deploy leave a whole "
    "set",
    "[pki][cert_set]") {
  testing::TempDir tmp;
  cert_set_recovery_test::Crashed c(tmp.path());
  {
    cert_set_recovery_test::Immutable ro(c.certs);
    if (!ro.on) {
      WARN("chattr +i is not supported here: the read-only directory is not tested");
      return;
    }
    // The new set cannot be finished (no file can be created beside the certificate): the
    // previous key goes back, beside the certificate that never changed.
    auto r = c.store.recover({});
    REQUIRE(r.ok());
    CHECK(r->outcome == Recovery::Outcome::abandoned);
    CHECK(live(c.keys, "k.pem") == "key-2");
    CHECK(live(c.certs, "c.pem") == "cert-2");
    CHECK_FALSE(fs::exists(c.state / "intent"));
    // A deploy meanwhile fails before any live file changes, and leaves no intent behind.
    auto d = c.store.deploy(set_of("5"), {});
    REQUIRE_FALSE(d.ok());
    CHECK(d.error().message.find("the previous set is live again") != std::string::npos);
    CHECK(live(c.keys, "k.pem") == "key-2");
    CHECK(live(c.certs, "c.pem") == "cert-2");
    CHECK_FALSE(fs::exists(c.state / "intent"));
  }
  // Writable again: the next deploy goes through.
  REQUIRE(c.store.deploy(set_of("6"), {}).ok());
  CHECK(live(c.keys, "k.pem") == "key-6");
  CHECK(live(c.certs, "c.pem") == "cert-6");
}

TEST_CASE("cert set: a rename that fails midway puts the files already replaced back",
          "[pki][cert_set]") {
  testing::TempDir tmp;
  const auto d = tmp / "etc";
  fs::create_directories(d);
  CertSetStore store(tmp / "state", {d / "k.pem", d / "c.pem", std::nullopt});
  REQUIRE(store.deploy(set_of("1"), {}).ok());
  // The certificate path becomes a directory: its temp file is written, the key renamed,
  // and the certificate's rename fails; the key must not stay the new one.
  fs::remove(d / "c.pem");
  fs::create_directories(d / "c.pem" / "x");
  auto r = store.deploy(set_of("2"), {});
  REQUIRE_FALSE(r.ok());
  CHECK(live(d, "k.pem") == "key-1");
  CHECK_FALSE(fs::exists(tmp / "state" / "intent"));
}
