// `certwatch check` output as a program and a person read it: --json parsed as a document
// (yaml-cpp reads JSON) with every certificate field compared with openssl's, and colour on a
// terminal only.
#include <catch2/catch.hpp>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <set>

#include "support/fixtures.h"
#include "support/pki_fixture.h"

using namespace testing;

namespace {

// `openssl x509 -noout OPTIONS` of pem: the value after '=' ("notAfter=...", "serial=...").
std::string openssl_field(const fs::path& pem, const std::vector<std::string>& options) {
  std::vector<std::string> argv{"openssl", "x509", "-noout", "-in", pem.string()};
  argv.insert(argv.end(), options.begin(), options.end());
  auto r = run(argv);
  REQUIRE(r.exit_code == 0);
  auto v = r.out.substr(r.out.find('=') + 1);
  while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
  return v;
}

int64_t openssl_time(const fs::path& pem, const std::string& option) {
  const std::string v = openssl_field(pem, {option});  // "Nov 24 08:14:22 2027 GMT"
  std::tm tm{};
  REQUIRE(::strptime(v.c_str(), "%b %d %H:%M:%S %Y GMT", &tm) != nullptr);
  return static_cast<int64_t>(::timegm(&tm));
}

std::string lower_hex(std::string s) {
  s.erase(std::remove(s.begin(), s.end(), ':'), s.end());
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

TEST_CASE("check --json is one JSON document whose fields equal openssl's", "[integration][check]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  auto s = make_seed001(f);
  // A second file with a problem: the leaf alone (an incomplete chain).
  const fs::path lonely = f.cat("lonely.pem", {s.leaf.cert});
  const RunResult r = run({certwatch_bin().string(), "check", "--json", "--ca-bundle", s.bundle.string(),
                           s.chain.string(), lonely.string()});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 2);
  const YAML::Node doc = YAML::Load(r.out);
  REQUIRE(doc.IsMap());
  CHECK(doc["exit_code"].as<int>() == r.exit_code);
  CHECK(doc["status"].as<std::string>() == "CRITICAL");

  // Certificates: the chain's two, then the lonely leaf; each field as openssl sees it.
  const YAML::Node certs = doc["certificates"];
  REQUIRE(certs.IsSequence());
  REQUIRE(certs.size() == 3);
  const std::vector<std::pair<fs::path, fs::path>> expected{
      {s.chain, s.leaf.cert}, {s.chain, s.server_ca.cert}, {lonely, s.leaf.cert}};
  for (size_t i = 0; i < certs.size(); ++i) {
    INFO("certificate " << i);
    const YAML::Node c = certs[i];
    const fs::path& pem = expected[i].second;
    CHECK(c["file"].as<std::string>() == expected[i].first.string());
    CHECK(c["index"].as<int>() == (i == 1 ? 1 : 0));
    CHECK(c["role"].as<std::string>() == (i == 1 ? "intermediate" : "leaf"));
    CHECK(c["not_after"].as<int64_t>() == openssl_time(pem, "-enddate"));
    CHECK(c["not_before"].as<int64_t>() == openssl_time(pem, "-startdate"));
    CHECK(c["sha256"].as<std::string>() == lower_hex(openssl_field(pem, {"-fingerprint", "-sha256"})));
    CHECK(c["serial"].as<std::string>() == openssl_field(pem, {"-serial"}));
    CHECK(c["is_ca"].as<bool>() == (i == 1));
    CHECK(c["key_type"].as<std::string>() == "EC P-256");
    CHECK(c["signature_algorithm"].as<std::string>() == "ecdsa-with-SHA256");
    CHECK(c["days_left"].as<int64_t>() >= 0);
    REQUIRE(c["sans"].IsSequence());
    if (i != 1) {
      REQUIRE(c["sans"].size() == 1);
      CHECK(c["sans"][0].as<std::string>() == "DNS:mqtt.my-iot-cloud.com");
      CHECK(c["subject_cn"].as<std::string>() == "mqtt.my-iot-cloud.com");
    }
  }

  // Findings: each has the four fields, a known severity, and a target among the inputs; the
  // lonely leaf's incomplete chain is there, and nothing is reported on the good chain's
  // verdict.
  const YAML::Node findings = doc["findings"];
  REQUIRE(findings.IsSequence());
  std::set<std::string> ids_on_lonely;
  for (const auto& fnd : findings) {
    const auto target = fnd["target"].as<std::string>();
    CHECK(!fnd["message"].as<std::string>().empty());
    const auto severity = fnd["severity"].as<std::string>();
    CHECK((severity == "info" || severity == "warning" || severity == "critical"));
    const bool known = target.rfind(s.chain.string(), 0) == 0 || target.rfind(lonely.string(), 0) == 0;
    CHECK(known);
    if (target.rfind(lonely.string(), 0) == 0) ids_on_lonely.insert(fnd["id"].as<std::string>());
    if (target == s.chain.string()) {
      CHECK(fnd["id"].as<std::string>() != "chain.untrusted");
      CHECK(fnd["id"].as<std::string>() != "chain.verify_failed");
    }
  }
  CHECK(ids_on_lonely.count("chain.incomplete") == 1);

  // Files: the verdict per input, equal to openssl verify's.
  const YAML::Node files = doc["files"];
  REQUIRE(files.IsSequence());
  REQUIRE(files.size() == 2);
  CHECK(files[0]["target"].as<std::string>() == s.chain.string());
  CHECK(files[0]["trusted"].as<bool>() == openssl_verifies(s.bundle, s.chain));
  CHECK(files[0]["trusted"].as<bool>());
  CHECK(files[1]["trusted"].as<bool>() == openssl_verifies(s.bundle, lonely));
  CHECK_FALSE(files[1]["trusted"].as<bool>());
}

TEST_CASE("check colours severities on a terminal, not in a pipe or with NO_COLOR", "[integration][check]") {
  REQUIRE(have_program("script"));  // util-linux: runs the command on a pseudo-terminal
  TempDir tmp;
  PkiFixture f(tmp.path());
  auto s = make_seed001(f);
  const fs::path lonely = f.cat("lonely.pem", {s.leaf.cert});
  const std::string cmd = certwatch_bin().string() + " check --ca-bundle " + s.bundle.string() + " " +
                          lonely.string();
  const std::string esc = "\033[";

  const RunResult tty = run({"script", "-qec", cmd, "/dev/null"});
  INFO(tty.out << tty.err);
  CHECK(tty.exit_code == 2);
  CHECK(tty.out.find("chain.incomplete") != std::string::npos);
  CHECK(tty.out.find(esc) != std::string::npos);

  const RunResult no_colour = run({"script", "-qec", "NO_COLOR=1 " + cmd, "/dev/null"});
  INFO(no_colour.out);
  CHECK(no_colour.out.find("chain.incomplete") != std::string::npos);
  CHECK(no_colour.out.find(esc) == std::string::npos);

  const RunResult piped = run({certwatch_bin().string(), "check", "--ca-bundle", s.bundle.string(), lonely.string()});
  CHECK(piped.out.find("chain.incomplete") != std::string::npos);
  CHECK(piped.out.find(esc) == std::string::npos);
}

TEST_CASE("check's table shows control characters of names and subjects escaped, never raw",
          "[integration][check][output]") {
  TempDir tmp;
  PkiFixture f(tmp / "pki");
  // A file name and a subject CN with an ANSI escape sequence in them.
  const CertFiles root = f.root("root", CertOptions::of("Root"));
  const CertFiles leaf = f.server("leaf", root, CertOptions::of("evil\x1b[2Jname"));
  const fs::path file = tmp / "bad\x1b[31mname.pem";
  fs::copy_file(leaf.cert, file);
  const RunResult r = run({certwatch_bin().string(), "check", file.string()});
  CHECK(r.out.find('\x1b') == std::string::npos);
  CHECK(r.out.find("bad\\x1b[31mname.pem") != std::string::npos);
  CHECK(r.out.find("evil\\x1b[2Jname") != std::string::npos);
}
