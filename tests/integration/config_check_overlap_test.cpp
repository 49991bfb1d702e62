// `certwatch config check` on managed entries that would write one file (issue 22, item 4).
#include <catch2/catch.hpp>

#include "support/fixtures.h"

TEST_CASE("config check refuses two managed entries writing one file, exit 3",
          "[integration][config]") {
  testing::TempDir dir;
  std::filesystem::create_directory(dir / "pki");
  const auto file = (dir / "overlap.yaml").string();
  testing::write_file(dir / "overlap.yaml",
                      "issuers: [{name: ca, pki_dir: pki}]\n"
                      "managed:\n"
                      "  - {name: broker, issuer: ca, subject: /CN=a, cert: certs/server.pem,\n"
                      "     key: certs/server.key}\n"
                      "  - {name: bridge, issuer: ca, subject: /CN=b, cert: certs/server.pem,\n"
                      "     key: certs/bridge.key}\n");
  const auto r = testing::run({testing::certwatch_bin().string(), "config", "check", file},
                              std::chrono::seconds(20));
  CHECK(r.exit_code == 3);
  CHECK(r.out.empty());
  CHECK_THAT(r.err, Catch::Matchers::Contains(
                        file +
                        ":5:54: managed[1].cert: 'bridge' and 'broker' (managed[0].cert) "
                        "both write " +
                        (dir / "certs/server.pem").string() + ": one would overwrite the other"));
  CHECK_THAT(r.err, Catch::Matchers::Contains(file + ": 1 problem"));
}
