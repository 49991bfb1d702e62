// http-01 into a webroot: the file appears with the key authorization, 0644, directories
// created; it goes on cleanup; tokens that are not base64url never become paths.
#include "agent/acme/webroot_solver.h"

#include <sys/stat.h>

#include <fstream>

#include "pki/load/load.h"
#include "support/fixtures.h"
#include "support/solver_loop.h"

using certwatch::agent::acme::WebrootSolver;

TEST_CASE("the webroot solver writes the token file and removes it on cleanup", "[acme][webroot]") {
  testing::TempDir d;
  testing::LoopThread loop;
  WebrootSolver solver(loop.io, d.path() / "www");  // missing: created
  const auto c = testing::make_challenge("http-01", "Tok-en_1");
  REQUIRE(loop.wait([&](auto done) { solver.present(c, done); }).ok());
  const auto file = d.path() / "www/.well-known/acme-challenge/Tok-en_1";
  CHECK(solver.token_path(c.token) == file);
  auto text = certwatch::pki::read_limited(file);
  REQUIRE(text.ok());
  CHECK(*text == c.key_authorization);
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0644);
  REQUIRE(::stat(file.parent_path().c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0755);
  REQUIRE(loop.wait([&](auto done) { solver.cleanup(c, done); }).ok());
  CHECK_FALSE(std::filesystem::exists(file));
  CHECK(std::filesystem::is_directory(file.parent_path()));  // the web server's tree stays
}

TEST_CASE("the webroot solver refuses tokens that could leave the directory", "[acme][webroot]") {
  testing::TempDir d;
  testing::LoopThread loop;
  WebrootSolver solver(loop.io, d.path());
  for (const std::string token : {"../../etc/x", "a/b", "", "a.b"}) {
    const auto c = testing::make_challenge("http-01", token);
    const auto r = loop.wait([&](auto done) { solver.present(c, done); });
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Matchers::Contains("not base64url"));
  }
  CHECK_FALSE(std::filesystem::exists(d.path() / ".well-known"));
}

TEST_CASE("the webroot solver reports a webroot it cannot write", "[acme][webroot]") {
  testing::TempDir d;
  testing::LoopThread loop;
  std::ofstream(d.path() / "file") << "x";
  WebrootSolver solver(loop.io, d.path() / "file");  // a file where the directory should be
  const auto r =
      loop.wait([&](auto done) { solver.present(testing::make_challenge("http-01", "t"), done); });
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message,
             Catch::Matchers::StartsWith("http-01 webroot " + (d.path() / "file").string()));
}
