#include "pki/judge/trust_store.h"

#include <catch2/catch.hpp>

#include "pki/verify/chain.h"
#include "support/fixtures.h"
#include "support/pki_fixture.h"

using namespace testing;
namespace fs = std::filesystem;

TEST_CASE("a trust list is read once and shared by everyone who names it", "[pki][trust_store]") {
  TempDir d;
  PkiFixture f(d / "pki");
  const auto a = f.root("a", CertOptions::of("Trust A"));
  const auto b = f.root("b", CertOptions::of("Trust B"));
  certwatch::pki::TrustStore store;
  const std::vector<fs::path> list{a.cert, b.cert};
  const auto first = store.get(list);
  REQUIRE(first->certs.size() == 2);
  CHECK(first->certs[0].subject().find("Trust A") != std::string::npos);
  CHECK(first->errors.empty());
  REQUIRE(first->index != nullptr);
  CHECK(first->index->certs().size() == 2);
  CHECK(store.get(list) == first);  // the same value, not an equal copy
  // Another list (here: the same files in another order) is another set.
  const auto reversed = store.get({b.cert, a.cert});
  CHECK(reversed != first);
  CHECK(reversed->certs[0].subject().find("Trust B") != std::string::npos);
}

TEST_CASE("a trust list is read again once one of its files changed", "[pki][trust_store]") {
  TempDir d;
  PkiFixture f(d / "pki");
  const auto a = f.root("a", CertOptions::of("Old Anchor"));
  const auto b = f.root("b", CertOptions::of("New Anchor"));
  const fs::path bundle = d / "bundle.pem";
  fs::copy_file(a.cert, bundle);
  certwatch::pki::TrustStore store;
  const auto before = store.get({bundle});
  REQUIRE(before->certs.size() == 1);
  // Rotated by rename, as deploy tools do: a new inode even if size and mtime were equal.
  fs::copy_file(b.cert, d / "bundle.pem.new");
  fs::rename(d / "bundle.pem.new", bundle);
  const auto after = store.get({bundle});
  CHECK(after != before);
  REQUIRE(after->certs.size() == 1);
  CHECK(after->certs[0].subject().find("New Anchor") != std::string::npos);
  CHECK(store.get({bundle}) == after);
  // The old set stays valid for whoever still holds it.
  CHECK(before->certs[0].subject().find("Old Anchor") != std::string::npos);
}

TEST_CASE("an unreadable trust file is skipped and named, the others are used",
          "[pki][trust_store]") {
  TempDir d;
  PkiFixture f(d / "pki");
  const auto a = f.root("a", CertOptions::of("Good Anchor"));
  const fs::path missing = d / "missing.pem";
  certwatch::pki::TrustStore store;
  const auto set = store.get({missing, a.cert});
  REQUIRE(set->certs.size() == 1);
  REQUIRE(set->errors.size() == 1);
  CHECK(set->errors[0].find(missing.string()) != std::string::npos);
  // It appears: the list is read again, now with both.
  fs::copy_file(a.cert, missing);
  const auto later = store.get({missing, a.cert});
  CHECK(later->certs.size() == 2);
  CHECK(later->errors.empty());
}

TEST_CASE("anchors given in memory make a set with its index", "[pki][trust_store]") {
  TempDir d;
  PkiFixture f(d / "pki");
  const auto a = f.root("a", CertOptions::of("Memory Anchor"));
  const auto set = certwatch::pki::TrustSet::of(load_certs(a.cert));
  CHECK(set->paths.empty());
  REQUIRE(set->certs.size() == 1);
  CHECK(set->index->certs().size() == 1);
}
