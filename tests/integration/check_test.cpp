// `certwatch check` end to end: the real binary on fixture PKIs built at test time.
#include <catch2/catch.hpp>

#include <ctime>

#include "support/fixtures.h"
#include "support/pki_fixture.h"

using namespace testing;

namespace {

std::vector<std::string> check_argv(const Scenario& sc, const fs::path& file) {
  std::vector<std::string> argv{certwatch_bin().string(), "check", "--ca-bundle", sc.bundle.string()};
  if (sc.key) argv.insert(argv.end(), {"--key", sc.key->string()});
  if (sc.host) argv.insert(argv.end(), {"--host", *sc.host});
  if (sc.purpose) argv.insert(argv.end(), {"--purpose", *sc.purpose});
  argv.push_back(file.string());
  return argv;
}

bool reports(const std::string& json, const std::string& id) {
  return json.find("\"id\":\"" + id + "\"") != std::string::npos;
}

}  // namespace

TEST_CASE("check exits as DESIGN.md says for every acceptance fixture", "[integration][check]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  const auto scenarios = make_scenarios(f);
  REQUIRE(scenarios.size() >= 17);
  for (const auto& sc : scenarios) {
    auto argv = check_argv(sc, sc.file);
    argv.insert(argv.begin() + 2, "--json");
    const RunResult r = run(argv, std::chrono::seconds(30));
    INFO(sc.name << "\n" << r.out << r.err);
    CHECK(r.exit_code == sc.exit_code);
    for (const auto& id : sc.expect) CHECK(reports(r.out, id));
    for (const auto& id : sc.absent) CHECK_FALSE(reports(r.out, id));
    CHECK(r.out.find("\"certificates\":[") != std::string::npos);
    CHECK(r.out.find("\"findings\":[") != std::string::npos);
    CHECK(r.out.find("\"exit_code\":" + std::to_string(sc.exit_code)) != std::string::npos);
  }
}

TEST_CASE("fix-order output of every fixable fixture passes with no chain finding",
          "[integration][check]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  int fixed = 0;
  for (const auto& sc : make_scenarios(f)) {
    if (!sc.fixable) continue;
    const fs::path out = tmp / ("fixed-" + std::to_string(fixed++) + ".pem");
    auto argv = check_argv(sc, sc.file);
    argv.insert(argv.end() - 1, {"--fix-order", out.string()});
    const RunResult w = run(argv, std::chrono::seconds(30));
    INFO(sc.name << "\n" << w.out << w.err);
    CHECK(w.exit_code == sc.exit_code);  // the input is judged as it is
    REQUIRE(fs::exists(out));
    auto again = check_argv(sc, out);
    again.insert(again.begin() + 2, "--json");
    const RunResult r = run(again, std::chrono::seconds(30));
    INFO(r.out << r.err);
    CHECK(r.out.find("\"id\":\"chain.") == std::string::npos);
    CHECK(openssl_verifies(sc.bundle, out));
    // Leaf first, no root (not kept), nothing twice.
    const auto certs = load_certs(out);
    REQUIRE_FALSE(certs.empty());
    CHECK_FALSE(certs[0].is_ca());
    CHECK_FALSE(certs.back().self_issued());
  }
  CHECK(fixed >= 6);
}

TEST_CASE("fix-order with keep-root keeps the root last", "[integration][check]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  auto d = make_deep_chain(f);
  const fs::path messy = f.cat("messy.pem", {d.root.cert, d.int1.cert, d.leaf.cert, d.int2.cert, d.int1.cert});
  const fs::path out = tmp / "fixed.pem";
  const RunResult r = run({certwatch_bin().string(), "check", "--ca-bundle", d.bundle.string(),
                           "--fix-order", out.string(), "--keep-root", messy.string()});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 2);
  const auto certs = load_certs(out);
  REQUIRE(certs.size() == 4);
  CHECK(certs[0].subject_cn() == "mqtt.lab.local");
  CHECK(certs[1].subject_cn() == "deep Intermediate 2");
  CHECK(certs[2].subject_cn() == "deep Intermediate 1");
  CHECK(certs[3].subject_cn() == "deep Root CA");
  CHECK((fs::status(out).permissions() & fs::perms::others_write) == fs::perms::none);
}

TEST_CASE("check walks a seed 001 tree and pairs keys across private/ and certs/",
          "[integration][check]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  auto s = make_seed001(f);
  // The leaf's key replaced by a stranger: the pairing must notice.
  const RunResult good = run({certwatch_bin().string(), "check", "--json", "--ca-bundle",
                              s.bundle.string(), (tmp / "mqtt-server-1").string()});
  INFO(good.out << good.err);
  CHECK(good.out.find("\"path\":\"" + s.leaf.key.string() + "\"") != std::string::npos);
  CHECK_FALSE(reports(good.out, "key.mismatch"));
  CHECK(reports(good.out, "chain.incomplete"));  // certs/mqtt-server.cert.pem is the leaf alone
  CHECK(good.exit_code == 2);

  must_run({"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-out", s.leaf.key.string()});
  fs::permissions(s.leaf.key, fs::perms::owner_read | fs::perms::owner_write);
  const RunResult bad = run({certwatch_bin().string(), "check", "--ca-bundle", s.bundle.string(),
                             (tmp / "mqtt-server-1" / "mqtt-server.chain.pem").string(),
                             (tmp / "mqtt-server-1" / "private").string()});
  INFO(bad.out << bad.err);
  CHECK(bad.out.find("key.mismatch") != std::string::npos);
  CHECK(bad.exit_code == 2);
}

TEST_CASE("check --key pairs with the leaf, not with CA files given beside it",
          "[integration][check]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  auto s = make_seed001(f);
  // The chain, the intermediate and the bundle on one command line: only the chain holds a
  // leaf, so only it is compared with the key.
  const RunResult r = run({certwatch_bin().string(), "check", "--json", "--ca-bundle",
                           s.bundle.string(), "--key", s.leaf.key.string(), s.chain.string(),
                           s.server_ca.cert.string(), s.bundle.string()});
  INFO(r.out << r.err);
  CHECK_FALSE(reports(r.out, "key.mismatch"));
  CHECK(r.exit_code == 0);

  // A key that is not the leaf's is still reported, once, on the chain.
  const fs::path stranger = f.key("stranger");
  const RunResult bad = run({certwatch_bin().string(), "check", "--json", "--ca-bundle",
                             s.bundle.string(), "--key", stranger.string(), s.chain.string(),
                             s.server_ca.cert.string()});
  INFO(bad.out << bad.err);
  CHECK(bad.exit_code == 2);
  const auto first = bad.out.find("\"id\":\"key.mismatch\"");
  REQUIRE(first != std::string::npos);
  CHECK(bad.out.find("\"id\":\"key.mismatch\"", first + 1) == std::string::npos);
}

TEST_CASE("check output: table, plain when piped, usage errors exit 3", "[integration][check]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  auto s = make_seed001(f);
  const RunResult r = run({certwatch_bin().string(), "check", "--ca-bundle", s.bundle.string(),
                           s.chain.string()});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  for (const char* col : {"FILE", "POS", "ROLE", "SUBJECT CN", "ISSUER CN", "NOT AFTER", "DAYS LEFT"})
    CHECK(r.out.find(col) != std::string::npos);
  CHECK(r.out.find("mqtt.my-iot-cloud.com") != std::string::npos);
  CHECK(r.out.find('\033') == std::string::npos);

  CHECK(run({certwatch_bin().string(), "check", "--help"}).exit_code == 0);
  CHECK(run({certwatch_bin().string(), "check"}).exit_code == 3);
  CHECK(run({certwatch_bin().string(), "check", "--warning", "soon", s.chain.string()}).exit_code == 3);
  CHECK(run({certwatch_bin().string(), "check", "--purpose", "both", s.chain.string()}).exit_code == 3);
  CHECK(run({certwatch_bin().string(), "check", "--ca-bundle", (tmp / "nope.pem").string(),
             s.chain.string()}).exit_code == 3);
  CHECK(run({certwatch_bin().string(), "check", "--bogus", s.chain.string()}).exit_code == 3);
  // --warning moves the threshold (capped at a third of the lifetime): 20 days left of 90
  // warns by default, not with --warning 10d; --critical 30d makes it critical only up to
  // a tenth of the lifetime (9 days), so still a warning.
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  auto soon = f.server("soon", s.server_ca,
                       CertOptions::of("soon.test").with_days(90).with_not_before(now - 70 * 86400));
  const fs::path soon_chain = f.cat("soon.pem", {soon.cert, s.server_ca.cert});
  auto check_with = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv{certwatch_bin().string(), "check", "--ca-bundle", s.bundle.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(soon_chain.string());
    return run(argv).exit_code;
  };
  CHECK(check_with({}) == 1);
  CHECK(check_with({"--warning", "10d"}) == 0);
  CHECK(check_with({"--critical", "30d"}) == 1);
  CHECK(check_with({"--warning", "10d", "--critical", "8d"}) == 0);
}
