// Internationalised host names end to end (issue #23): certificates carry A-labels, people type
// U-labels. `check --host` and `probe --sni` with a Unicode name against a certificate whose SAN
// is the A-label, the probe against a real `openssl s_server` that picks its certificate by the
// SNI it receives, and `config check` with Unicode names in the config.
#include <catch2/catch.hpp>

#include "support/fixtures.h"
#include "support/pki_fixture.h"
#include "support/tls_servers.h"

using namespace testing;
using Catch::Matchers::Contains;

namespace {

constexpr const char* kIdnUnicode = "bücher.lab.test";
constexpr const char* kIdnAscii = "xn--bcher-kva.lab.test";

RunResult idn_certwatch(const std::string& command, const std::vector<std::string>& extra) {
  std::vector<std::string> argv{certwatch_bin().string(), command};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return run(argv, std::chrono::seconds(60));
}

bool idn_has_finding(const RunResult& r, const std::string& id) {
  return r.out.find("\"id\":\"" + id + "\"") != std::string::npos;
}

// A root and a leaf whose only SAN is the A-label (the fixture's leaf SAN is DNS:<cn>).
struct IdnPki {
  PkiFixture f;
  CertFiles root, leaf;
  explicit IdnPki(const fs::path& dir)
      : f(dir),
        root(f.root("idn-root", CertOptions::of("IDN Test Root").with_days(3650))),
        leaf(f.server("idn-leaf", root, CertOptions::of(kIdnAscii))) {}
};

}  // namespace

TEST_CASE("check --host takes a Unicode name and matches its A-label", "[integration][idna]") {
  TempDir tmp;
  IdnPki pki(tmp / "pki");
  const std::vector<std::string> common{"--ca-bundle", pki.root.cert.string(), "--json"};
  const auto check = [&](const std::string& host) {
    std::vector<std::string> a = common;
    a.insert(a.end(), {"--host", host, pki.leaf.cert.string()});
    return idn_certwatch("check", a);
  };

  SECTION("the U-label matches the certificate's A-label: exit 0") {
    const RunResult r = check(kIdnUnicode);
    INFO(r.out << r.err);
    CHECK_FALSE(idn_has_finding(r, "leaf.hostname_mismatch"));
    CHECK(r.exit_code == 0);
  }
  SECTION("mixed case and the A-label itself match too") {
    for (const std::string host : {"Bücher.LAB.test", kIdnAscii}) {
      const RunResult r = check(host);
      INFO(host << "\n" << r.out << r.err);
      CHECK(r.exit_code == 0);
    }
  }
  SECTION("another Unicode name is a mismatch that shows both forms") {
    const RunResult r = check("münchen.lab.test");
    INFO(r.out << r.err);
    CHECK(idn_has_finding(r, "leaf.hostname_mismatch"));
    CHECK_THAT(r.out, Contains("münchen.lab.test (xn--mnchen-3ya.lab.test)"));
    CHECK(r.exit_code == 2);
  }
  SECTION("a name that is not valid IDNA is a usage error (exit 3)") {
    const RunResult r = check("☃.lab.test");
    INFO(r.out << r.err);
    CHECK(r.exit_code == 3);
    CHECK(r.out.empty());
    CHECK_THAT(r.err, Contains("--host: '☃.lab.test' is not a valid internationalised host name"));
  }
}

TEST_CASE("probe --sni sends a Unicode name as its A-label", "[integration][idna][probe]") {
  TempDir tmp;
  IdnPki pki(tmp / "pki");
  // s_server serves `other` unless the client's SNI is exactly the A-label: then the IDN leaf.
  const CertFiles other = pki.f.server("other", pki.root, CertOptions::of("other.lab.test"));
  TlsServer server(
      tmp.path(), other, std::nullopt,
      {"-cert2", pki.leaf.cert.string(), "-key2", pki.leaf.key.string(), "-servername", kIdnAscii});
  const std::string target = "127.0.0.1:" + std::to_string(server.port);
  const auto probe = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> a{target,      "--ca-bundle", pki.root.cert.string(),
                               "--timeout", "10s",         "--json"};
    a.insert(a.end(), extra.begin(), extra.end());
    return idn_certwatch("probe", a);
  };

  SECTION("the server recognises the SNI and the leaf matches it: exit 0") {
    const RunResult r = probe({"--sni", kIdnUnicode});
    INFO(r.out << r.err);
    CHECK_FALSE(idn_has_finding(r, "leaf.hostname_mismatch"));
    CHECK_FALSE(idn_has_finding(r, "endpoint.handshake_failed"));
    CHECK(r.exit_code == 0);
  }
  SECTION("without the SNI the server's default certificate does not match the name") {
    const RunResult r = probe({"--host", kIdnUnicode});
    INFO(r.out << r.err);
    CHECK(idn_has_finding(r, "leaf.hostname_mismatch"));
    CHECK_THAT(r.out, Contains("bücher.lab.test (xn--bcher-kva.lab.test)"));
    CHECK(r.exit_code == 2);
  }
  SECTION("an --sni that is not valid IDNA is a usage error (exit 3)") {
    const RunResult r = probe({"--sni", "xn--53h.lab.test"});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 3);
    CHECK_THAT(r.err, Contains("--sni: 'xn--53h.lab.test' is not a valid internationalised"));
  }
}

TEST_CASE("config check accepts Unicode names and refuses invalid IDNA at file:line:col",
          "[integration][idna][config]") {
  TempDir dir;
  // One endpoint with `sni` and one managed entry with `sans` (the SNI's quote at column 37, the
  // second SAN's at column 32 of line 6).
  const auto config_check = [&](const std::string& name, const std::string& sni,
                                const std::string& sans) {
    write_file(dir / name,
               "endpoints:\n"
               "  - {target: '127.0.0.1:8883', sni: '" +
                   sni +
                   "'}\n"
                   "issuers: [{name: ca, pki_dir: pki}]\n"
                   "managed:\n"
                   "  - {name: m, issuer: ca, subject: /CN=m, cert: a.pem, key: a.key,\n"
                   "     sans: [" +
                   sans + "]}\n");
    return idn_certwatch("config", {"check", "--no-file-checks", (dir / name).string()});
  };

  const RunResult ok = config_check("idn.yaml", "Bücher.lab.test",
                                    "'DNS:bücher.lab.test', 'DNS:*.bücher.lab.test', IP:127.0.0.1");
  INFO(ok.out << ok.err);
  CHECK(ok.exit_code == 0);
  CHECK_THAT(ok.out, Contains((dir / "idn.yaml").string() + ": ok"));

  const RunResult r =
      config_check("bad.yaml", "☃.lab.test", "'DNS:ok.lab.test', 'DNS:xn--53h.lab.test'");
  INFO(r.out << r.err);
  const std::string bad = (dir / "bad.yaml").string();
  CHECK(r.exit_code == 3);
  CHECK_THAT(r.err, Contains(bad + ":2:37: endpoints[0].sni: '☃.lab.test' is not a valid "
                                   "internationalised host name (IDNA 2008)"));
  CHECK_THAT(r.err, Contains(bad + ":6:32: managed[0].sans[1]: bad SAN 'DNS:xn--53h.lab.test'"));
  CHECK_THAT(r.err, Contains(bad + ": 2 problems"));
}
