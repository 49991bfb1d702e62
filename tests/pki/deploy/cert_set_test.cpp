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
  REQUIRE_FALSE(*store.recover({}));  // nothing interrupted
  // What a crash after the key write leaves: the new set staged, the intent, a mixed live set.
  REQUIRE(write_files_atomic({{tmp / "state" / "next" / "key.pem", "key-new"},
                              {tmp / "state" / "next" / "cert.pem", "cert-new"}}).ok());
  REQUIRE(write_file_atomic(tmp / "state" / "intent", "deploy next\n", 0600).ok());
  REQUIRE(write_file_atomic(d / "k.pem", "key-new", 0600).ok());
  auto r = store.recover({});
  REQUIRE(r.ok());
  CHECK(*r);
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
