// Issue 13's false answers, each against the old behaviour and, where it applies, against
// `openssl verify` as the oracle: PKCS#7 sets judged as ordered chains, OpenSSL trust settings
// that never saw the purpose, CA-only files passing as a server's certificate, and
// issuance-practice lints shouting at trust anchors nobody can change.
#include <catch2/catch.hpp>
#include <ctime>

#include "pki/judge/judge.h"
#include "pki/load/load.h"
#include "support/fixtures.h"
#include "support/pki_fixture.h"

using namespace testing;

namespace {

int64_t now_s() {
  return static_cast<int64_t>(std::time(nullptr));
}

certwatch::pki::JudgeOptions trusting(const fs::path& bundle) {
  certwatch::pki::JudgeOptions o;
  o.trust = load_certs(bundle);
  o.now = now_s();
  return o;
}

bool has_note(const certwatch::pki::Report& r, const std::string& part) {
  for (const auto& n : r.notes)
    if (n.find(part) != std::string::npos) return true;
  return false;
}

// A leaf with many SANs: its DER is the longest, so a DER SET OF puts it last.
CertOptions big_leaf(const std::string& cn) {
  auto o = CertOptions::of(cn);
  std::string sans = "subjectAltName = DNS:" + cn;
  for (int i = 0; i < 40; ++i) sans += ", DNS:alias-" + std::to_string(i) + ".example.org";
  o.ext =
      "basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\n"
      "extendedKeyUsage = serverAuth\n" +
      sans + "\n";
  return o;
}

}  // namespace

TEST_CASE("a PKCS#7 bundle is judged as an unordered set", "[verdicts][pkcs7]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  auto root = f.root("root", CertOptions::of("P7 Root").with_days(3650));
  auto ca = f.ca("ca", root, CertOptions::of("P7 CA").with_days(1825));
  auto leaf = f.server("leaf", ca, big_leaf("p7.lab.local"));
  for (bool der : {true, false}) {
    const fs::path p7 = f.to_p7b({ca.cert, leaf.cert}, der ? "chain.p7b" : "chain.p7c", der);
    auto loaded = certwatch::pki::load_file(p7);
    REQUIRE(loaded.ok());
    CHECK(loaded.loaded->unordered);
    // The precondition of the old false answer: the leaf is not the first in the file.
    REQUIRE(loaded.loaded->certs.size() == 2);
    REQUIRE(loaded.loaded->certs[0].is_ca());
    const certwatch::pki::Report r = certwatch::pki::judge_file(p7, trusting(root.cert));
    INFO(describe(r));
    CHECK_FALSE(has_finding(r, "chain.leaf_not_first"));
    CHECK_FALSE(has_finding(r, "chain.order"));
    CHECK(certwatch::pki::nagios_exit_code(r.findings) == 0);
    CHECK(r.trusted);
    CHECK_FALSE(r.order_judged);
    CHECK(has_note(r, "order not judged"));
    // openssl agrees that the set holds a good chain.
    CHECK(run({"openssl", "verify", "-CAfile", root.cert.string(), "-untrusted", ca.cert.string(),
               leaf.cert.string()})
              .exit_code == 0);
    // The roles still come from the path: the leaf is found wherever it stands.
    CHECK(r.certs[1].role == certwatch::pki::CertRole::leaf);
    CHECK(r.certs[0].role == certwatch::pki::CertRole::intermediate);
    CHECK(r.fixed_order == std::vector<int>{1, 0});
  }
  // Completeness, extras and trust still apply to a set.
  auto stray = f.root("stray", CertOptions::of("Stray Root"));
  const fs::path missing = f.to_p7b({leaf.cert, stray.cert}, "missing.p7b", true);
  const certwatch::pki::Report m = certwatch::pki::judge_file(missing, trusting(root.cert));
  INFO(describe(m));
  CHECK(has_finding(m, "chain.incomplete"));
  CHECK(has_finding(m, "chain.extra"));
  CHECK_FALSE(has_finding(m, "chain.leaf_not_first"));
  CHECK_FALSE(m.trusted);
  // A PEM file with the same certificates in the same order is still judged as ordered.
  const fs::path pem = f.cat("ca-first.pem", {ca.cert, leaf.cert});
  CHECK(has_finding(certwatch::pki::judge_file(pem, trusting(root.cert)), "chain.leaf_not_first"));
}

TEST_CASE("OpenSSL trust settings on an anchor are read for the purpose asked",
          "[verdicts][trust]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  auto root = f.root("root", CertOptions::of("Trust Settings Root").with_days(3650));
  auto ca = f.ca("ca", root, CertOptions::of("TS CA").with_days(1825));
  auto leaf = f.server("leaf", ca, CertOptions::of("ts.lab.local"));
  const fs::path chain = f.cat("chain.pem", {leaf.cert, ca.cert});
  const fs::path trusted = tmp / "trusted.pem";  // -----BEGIN TRUSTED CERTIFICATE-----
  must_run({"openssl", "x509", "-in", root.cert.string(), "-addtrust", "serverAuth", "-trustout",
            "-out", trusted.string()});
  REQUIRE(read_file(trusted).find("BEGIN TRUSTED CERTIFICATE") != std::string::npos);
  const auto verify = [&](const std::string& purpose) {
    std::vector<std::string> argv{"openssl",        "verify",     "-CAfile",
                                  trusted.string(), "-untrusted", chain.string()};
    if (!purpose.empty()) argv.insert(argv.end(), {"-purpose", purpose});
    argv.push_back(chain.string());
    return run(argv).exit_code == 0;
  };

  auto opt = trusting(trusted);
  opt.purpose = certwatch::pki::Purpose::server;
  const certwatch::pki::Report server = certwatch::pki::judge_file(chain, opt);
  INFO(describe(server));
  CHECK(verify("sslserver"));
  CHECK(server.trusted == verify("sslserver"));
  CHECK_FALSE(has_finding(server, "chain.verify_failed"));
  CHECK(certwatch::pki::nagios_exit_code(server.findings) == 0);

  // Without a purpose: what OpenSSL says (rejected), and why.
  const certwatch::pki::Report none = certwatch::pki::judge_file(chain, trusting(trusted));
  CHECK_FALSE(verify(""));
  CHECK(none.trusted == verify(""));
  const certwatch::pki::Finding* vf = find_finding(none, "chain.verify_failed");
  REQUIRE(vf != nullptr);
  CHECK(vf->message.find("X509_V_ERR_CERT_REJECTED") != std::string::npos);
  CHECK(vf->message.find("trust settings decided it") != std::string::npos);
  CHECK(vf->message.find("TLS Web Server Authentication") != std::string::npos);

  // As a client certificate's anchor it is rejected, as openssl verify -purpose sslclient says.
  auto client = f.client("client", ca, CertOptions::of("device-1"));
  const fs::path cchain = f.cat("cchain.pem", {client.cert, ca.cert});
  opt.purpose = certwatch::pki::Purpose::client;
  const certwatch::pki::Report c = certwatch::pki::judge_file(cchain, opt);
  CHECK_FALSE(c.trusted);
  CHECK(run({"openssl", "verify", "-purpose", "sslclient", "-CAfile", trusted.string(),
             "-untrusted", cchain.string(), cchain.string()})
            .exit_code != 0);
}

TEST_CASE("a server's file without an end-entity certificate is critical", "[verdicts][leaf]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  auto root = f.root("root", CertOptions::of("EE Root").with_days(3650));
  auto ca = f.ca("ca", root, CertOptions::of("EE CA").with_days(1825), 1);
  // A CA certificate carrying the host's SAN, the intermediate after it.
  auto fake =
      f.ca("fake", ca,
           CertOptions::of("mqtt.lab.local").with_extra("subjectAltName = DNS:mqtt.lab.local"));
  const fs::path file = f.cat("server.pem", {fake.cert, ca.cert});
  auto opt = trusting(root.cert);

  SECTION("--purpose server") {
    opt.purpose = certwatch::pki::Purpose::server;
  }
  SECTION("--host") {
    opt.host = "mqtt.lab.local";
  }
  SECTION("--purpose client") {
    opt.purpose = certwatch::pki::Purpose::client;
  }
  const certwatch::pki::Report r = certwatch::pki::judge_file(file, opt);
  INFO(describe(r));
  const certwatch::pki::Finding* nee = find_finding(r, "chain.no_end_entity");
  REQUIRE(nee != nullptr);
  CHECK(nee->severity == certwatch::pki::Severity::critical);
  CHECK(nee->message.find("mqtt.lab.local") != std::string::npos);
  CHECK(certwatch::pki::nagios_exit_code(r.findings) == 2);
}

TEST_CASE("a CA bundle stays a bundle without purpose or host, and inside directories",
          "[verdicts][leaf]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  auto root = f.root("d/root", CertOptions::of("Bundle Root").with_days(3650));
  auto ca = f.ca("d/ca", root, CertOptions::of("Bundle CA").with_days(1825));
  const fs::path bundle = f.cat("d/ca-bundle.pem", {ca.cert, root.cert});
  const certwatch::pki::Report plain = certwatch::pki::judge_file(bundle, trusting(root.cert));
  CHECK_FALSE(has_finding(plain, "chain.no_end_entity"));
  CHECK(certwatch::pki::nagios_exit_code(plain.findings) == 0);
  // A directory walked with --purpose: the bundle found there is not "the server's file".
  auto opt = trusting(root.cert);
  opt.purpose = certwatch::pki::Purpose::server;
  const std::vector<fs::path> dirs{tmp / "d"};
  for (const auto& r : certwatch::pki::judge_paths(dirs, opt)) {
    INFO(describe(r));
    CHECK_FALSE(has_finding(r, "chain.no_end_entity"));
  }
}

TEST_CASE("issuance-practice lints are info on self-signed trust anchors", "[verdicts][lints]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  const int64_t now = now_s();
  // Short serial, basicConstraints not critical, no SKI: as old public roots are.
  auto old_style = CertOptions::of("Old Style Root").with_days(3650).with_serial("0x01");
  old_style.ext = "basicConstraints = CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\n";
  auto root = f.root("root", old_style);
  auto expired_opts =
      CertOptions::of("Expired Root").with_days(30).with_not_before(now - 400 * 86400);
  auto expired = f.root("expired", expired_opts);
  // An intermediate issued the same way is a practice someone can still fix: a warning.
  auto ca_opts = CertOptions::of("Sloppy CA").with_days(1825).with_serial("0x02");
  ca_opts.ext =
      "basicConstraints = CA:TRUE, pathlen:0\nkeyUsage = critical, keyCertSign, cRLSign\n"
      "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n";
  auto ca = f.ca("ca", root, ca_opts);
  auto leaf = f.server("leaf", ca, CertOptions::of("lint.lab.local"));

  const auto severity_of = [](const certwatch::pki::Report& r, const std::string& id,
                              const std::string& target_end) {
    for (const auto& x : r.findings)
      if (x.id == id && x.target.size() >= target_end.size() &&
          x.target.compare(x.target.size() - target_end.size(), target_end.size(), target_end) == 0)
        return std::optional<certwatch::pki::Severity>(x.severity);
    return std::optional<certwatch::pki::Severity>();
  };

  // In a bundle.
  const fs::path bundle = f.cat("bundle.pem", {root.cert, expired.cert});
  const certwatch::pki::Report b = certwatch::pki::judge_file(bundle, trusting(bundle));
  INFO(describe(b));
  CHECK(severity_of(b, "cert.bad_serial", "#0") == certwatch::pki::Severity::info);
  CHECK(severity_of(b, "ca.basic_constraints_not_critical", "#0") ==
        certwatch::pki::Severity::info);
  CHECK(severity_of(b, "cert.expired", "#1") ==
        certwatch::pki::Severity::critical);  // true and useful

  // The root at the end of a chain, and the intermediate below it.
  const fs::path chain = f.cat("chain.pem", {leaf.cert, ca.cert, root.cert});
  const certwatch::pki::Report c = certwatch::pki::judge_file(chain, trusting(root.cert));
  INFO(describe(c));
  CHECK(severity_of(c, "cert.bad_serial", "#2") == certwatch::pki::Severity::info);
  CHECK(severity_of(c, "ca.basic_constraints_not_critical", "#2") ==
        certwatch::pki::Severity::info);
  CHECK(severity_of(c, "cert.bad_serial", "#1") == certwatch::pki::Severity::warning);
  CHECK(severity_of(c, "ca.basic_constraints_not_critical", "#1") ==
        certwatch::pki::Severity::warning);
}

TEST_CASE("the system trust bundle raises no issuance-practice warnings", "[verdicts][lints]") {
  const fs::path sys = "/etc/ssl/certs/ca-certificates.crt";
  if (!fs::exists(sys)) {
    WARN("no " << sys.string() << " on this machine");
    return;
  }
  const certwatch::pki::Report r = certwatch::pki::judge_file(sys, trusting(sys));
  int practice = 0;
  for (const auto& x : r.findings) {
    if (x.id == "cert.bad_serial" || x.id == "ca.basic_constraints_not_critical") {
      ++practice;
      CHECK(x.severity == certwatch::pki::Severity::info);
    }
    if (x.id == "cert.expired") CHECK(x.severity == certwatch::pki::Severity::critical);
  }
  CHECK(practice > 0);  // Debian 12's bundle has such roots (31 + 3 when the issue was filed)
}
