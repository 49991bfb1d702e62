// The checks across managed entries (config/loader_checks.cpp): no file written twice.
#include <catch2/catch.hpp>
#include <sstream>

#include "config/loader.h"
#include "support/fixtures.h"

namespace {

using certwatch::config::LoadOptions;

// Every problem of `text` (loaded as "c.yaml" from `base`), one per line; empty when it loads.
std::vector<std::string> output_overlap_errors(
    const std::string& text, const std::filesystem::path& base = "/nonexistent-base") {
  auto r = certwatch::config::load_config_string(text, "c.yaml", base,
                                                 LoadOptions{.check_files = false});
  std::vector<std::string> out;
  if (r) return out;
  std::istringstream in(r.error().message);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

const std::string kIssuer = "issuers: [{name: ca, pki_dir: /p}]\nmanaged:\n";

}  // namespace

TEST_CASE("managed entries that write one file are refused, naming both",
          "[config][loader][errors]") {
  // Another spelling of the same path (relative, "..", "./") is the same file.
  CHECK(output_overlap_errors(
            kIssuer +
            "  - {name: a, issuer: ca, subject: /CN=a, cert: /d/a.pem, key: /d/a.key}\n"
            "  - {name: b, issuer: ca, subject: /CN=b, cert: /d/b.pem, key: /d/x/../a.key}\n") ==
        std::vector<std::string>{"c.yaml:4:64: managed[1].key: 'b' and 'a' (managed[0].key) both "
                                 "write /d/a.key: one would overwrite the other"});
  // A chain of one entry that is another's certificate, written relative to the config.
  CHECK(output_overlap_errors(kIssuer +
                              "  - {name: a, issuer: ca, subject: /CN=a, cert: s.pem, key: a.key}\n"
                              "  - {name: b, issuer: ca, subject: /CN=b, cert: b.pem, key: b.key,\n"
                              "     chain: ./s.pem}\n") ==
        std::vector<std::string>{
            "c.yaml:5:13: managed[1].chain: 'b' and 'a' (managed[0].cert) "
            "both write /nonexistent-base/s.pem: one would overwrite the other"});
  // Within one entry: the chain over the certificate would leave the leaf alone in the file.
  CHECK(output_overlap_errors(
            kIssuer + "  - {name: a, issuer: ca, subject: /CN=a, cert: /d/a.pem, key: /d/a.key, "
                      "chain: /d/a.pem}\n") ==
        std::vector<std::string>{"c.yaml:3:81: managed[0].chain: 'a' writes /d/a.pem as both cert "
                                 "and chain: one would overwrite the other"});
  // Neighbours in one directory are fine.
  CHECK(output_overlap_errors(
            kIssuer + "  - {name: a, issuer: ca, subject: /CN=a, cert: /d/a.pem, key: /d/a.key, "
                      "chain: /d/a.chain.pem}\n"
                      "  - {name: b, issuer: ca, subject: /CN=b, cert: /d/b.pem, key: /d/b.key}\n")
            .empty());
}

TEST_CASE("managed outputs reached through a symlinked directory are one file",
          "[config][loader][errors]") {
  testing::TempDir dir;
  std::filesystem::create_directory(dir / "certs");
  std::filesystem::create_directory_symlink(dir / "certs", dir / "live");
  const auto errs = output_overlap_errors(
      kIssuer + "  - {name: a, issuer: ca, subject: /CN=a, cert: certs/a.pem, key: certs/a.key}\n" +
          "  - {name: b, issuer: ca, subject: /CN=b, cert: live/a.pem, key: live/b.key}\n",
      dir.path());
  const auto real_dir = std::filesystem::canonical(dir / "certs");
  REQUIRE(errs.size() == 1);
  CHECK(errs[0] == "c.yaml:4:49: managed[1].cert: 'b' and 'a' (managed[0].cert) both write " +
                       (dir / "live/a.pem").string() + " (as " + (real_dir / "a.pem").string() +
                       "): one would overwrite the other");
}
