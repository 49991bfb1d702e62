// `certwatch pki` through the CLI, where the library tests do not reach: forced re-issues and
// the ledger, import refusals an operator meets, and issuing from a CSR made elsewhere.
#include <catch2/catch.hpp>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>

#include "integration/pki_cli.h"
#include "support/fixtures.h"

using namespace pki_cli;
namespace fs = std::filesystem;

namespace {

std::string serial_of(const fs::path& pem) {
  auto r = testing::run({"openssl", "x509", "-noout", "-serial", "-in", pem.string()});
  REQUIRE(r.exit_code == 0);
  auto v = r.out.substr(r.out.find('=') + 1);
  while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
  while (v.size() > 1 && v[0] == '0') v.erase(0, 1);
  return v;
}


}  // namespace

TEST_CASE("pki issue --force supersedes the name in the ledger and revoke --name takes the new one",
          "[integration][pki]") {
  testing::TempDir tmp;
  const std::string d = (tmp / "pki").string(), out = (tmp / "out").string();
  ok({"pki", "init", "--dir", d, "--subject", "/CN=CLI Root"});
  const std::vector<std::string> issue{"pki", "issue", "--dir", d, "--ca", "root-ca", "--profile", "server",
                                       "--name", "mqtt", "--subject", "/CN=mqtt.lab", "--san", "DNS:mqtt.lab",
                                       "--out", out};
  ok(issue);
  const std::string first = serial_of(tmp / "out" / "mqtt.cert.pem");
  auto refused = certwatch(issue);
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("--force") != std::string::npos);
  auto forced_args = issue;
  forced_args.push_back("--force");
  auto forced = ok(forced_args);
  CHECK((forced.out + forced.err).find("superseded") != std::string::npos);
  const std::string second = serial_of(tmp / "out" / "mqtt.cert.pem");
  REQUIRE(first != second);

  auto list = ok({"pki", "list", "--dir", d, "--json"});
  const YAML::Node rows = YAML::Load(list.out);
  REQUIRE(rows.IsSequence());
  std::map<std::string, YAML::Node> by_serial;
  for (size_t i = 0; i < rows.size(); ++i) by_serial[rows[i]["serial"].as<std::string>()] = rows[i];
  REQUIRE(by_serial.count(first) == 1);
  REQUIRE(by_serial.count(second) == 1);
  CHECK(by_serial[first]["status"].as<std::string>() == "superseded");
  CHECK(by_serial[first]["superseded_by"].as<std::string>() == second);
  CHECK(by_serial[second]["status"].as<std::string>() == "valid");
  auto table = ok({"pki", "list", "--dir", d});
  CHECK(table.out.find("superseded") != std::string::npos);

  // By name: the current certificate, no --serial needed.
  auto revoked = ok({"pki", "revoke", "--dir", d, "--name", "mqtt", "--reason", "keyCompromise"});
  CHECK(revoked.out.find(second) != std::string::npos);
  // The superseded one by serial; then the CRL holds both, and openssl agrees.
  ok({"pki", "revoke", "--dir", d, "--serial", first, "--reason", "superseded"});
  auto crl = ok({"pki", "crl", "--dir", d, "--ca", "root-ca"});
  CHECK(crl.out.find("2 revoked") != std::string::npos);
  auto text = testing::run({"openssl", "crl", "-in", (tmp / "pki" / "root-ca" / "crl" / "root-ca.crl.pem").string(), "-noout", "-text"});
  INFO(text.out << text.err);
  CHECK(text.out.find("Serial Number: " + first) != std::string::npos);
  CHECK(text.out.find("Serial Number: " + second) != std::string::npos);
}

TEST_CASE("pki import refuses a leaf by saying it is not a CA, with or without --name", "[integration][pki]") {
  testing::TempDir tmp;
  const std::string d = (tmp / "pki").string(), out = (tmp / "out").string();
  ok({"pki", "init", "--dir", d, "--subject", "/CN=CLI Root"});
  ok({"pki", "issue", "--dir", d, "--ca", "root-ca", "--profile", "server", "--name", "leaf", "--subject",
      "/CN=leaf.lab", "--san", "DNS:leaf.lab", "--out", out});
  const std::string cert = (tmp / "out" / "leaf.cert.pem").string(), key = (tmp / "out" / "leaf.key.pem").string();
  const auto before = pki_cli::pki_files(tmp / "pki");
  for (const bool with_name : {false, true}) {
    std::vector<std::string> args{"pki", "import", "--dir", d, "--cert", cert, "--key", key};
    if (with_name) args.insert(args.end(), {"--name", "leaf-ca"});
    auto r = certwatch(args);
    INFO(r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("CN=leaf.lab is not a CA") != std::string::npos);
    CHECK(r.err.find("pki issue") != std::string::npos);
    CHECK(r.err.find("--name is required") == std::string::npos);
  }
  CHECK(pki_cli::pki_files(tmp / "pki") == before);

  // An intermediate CA without --name: the message asks for the name and says why.
  testing::sh("cd " + tmp.path().string() +
              " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout r.key"
              " -out r.pem -subj /CN=Ext-Root -days 30 2>/dev/null"
              " && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout i.key"
              " -out i.csr -subj /CN=Ext-Int 2>/dev/null"
              " && printf 'basicConstraints=critical,CA:TRUE\\nkeyUsage=critical,keyCertSign,cRLSign\\n' > i.ext"
              " && openssl x509 -req -in i.csr -CA r.pem -CAkey r.key -CAcreateserial -days 20"
              " -extfile i.ext -out i.pem 2>/dev/null");
  auto r = certwatch({"pki", "import", "--dir", d, "--cert", (tmp / "i.pem").string(), "--key",
                      (tmp / "i.key").string(), "--chain", (tmp / "r.pem").string()});
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("is an intermediate CA") != std::string::npos);
  CHECK(r.err.find("--name") != std::string::npos);
  CHECK(pki_cli::pki_files(tmp / "pki") == before);
}

TEST_CASE("pki issue --csr signs a CSR made with openssl and refuses a broken one", "[integration][pki]") {
  testing::TempDir tmp;
  const std::string d = (tmp / "pki").string(), out = (tmp / "out").string();
  ok({"pki", "init", "--dir", d, "--subject", "/CN=CLI Root"});
  // The device makes its key and CSR; the key never reaches certwatch.
  testing::sh("cd " + tmp.path().string() +
              " && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout dev.key"
              " -out dev.csr -subj /CN=dev-7.lab -addext subjectAltName=DNS:dev-7.lab 2>/dev/null");
  auto issued = ok({"pki", "issue", "--dir", d, "--ca", "root-ca", "--profile", "client", "--name", "dev-7",
                    "--csr", (tmp / "dev.csr").string(), "--out", out});
  const fs::path cert = tmp / "out" / "dev-7.cert.pem";
  REQUIRE(fs::exists(cert));
  CHECK_FALSE(fs::exists(tmp / "out" / "dev-7.key.pem"));  // no key written for a CSR
  auto verify = testing::run({"openssl", "verify", "-CAfile", (tmp / "pki" / "ca-bundle.pem").string(), cert.string()});
  INFO(verify.out << verify.err);
  CHECK(verify.exit_code == 0);
  // The certificate carries the CSR's public key.
  auto from_cert = testing::run({"openssl", "x509", "-in", cert.string(), "-noout", "-pubkey"});
  auto from_csr = testing::run({"openssl", "req", "-in", (tmp / "dev.csr").string(), "-noout", "-pubkey"});
  REQUIRE(from_cert.exit_code == 0);
  REQUIRE(from_csr.exit_code == 0);
  CHECK(from_cert.out == from_csr.out);
  CHECK(x509_text(cert.string()).find("DNS:dev-7.lab") != std::string::npos);

  // A CSR whose signature does not verify (one byte of the signature flipped), and a file
  // that is not a CSR: refused, nothing written.
  const auto before_pki = pki_cli::pki_files(tmp / "pki");
  const auto before_out = pki_cli::pki_files(tmp / "out");
  testing::sh("cd " + tmp.path().string() + " && openssl req -in dev.csr -outform DER -out dev.der");
  std::string der = testing::read_file(tmp / "dev.der");
  REQUIRE(der.size() > 10);
  der[der.size() - 3] = static_cast<char>(der[der.size() - 3] ^ 0x01);
  testing::write_file(tmp / "bad.der", der);
  testing::sh("cd " + tmp.path().string() + " && openssl req -inform DER -in bad.der -out bad.csr");
  testing::write_file(tmp / "junk.csr", "not a certificate request\n");
  int n = 0;
  for (const char* csr : {"bad.csr", "junk.csr"}) {
    INFO(csr);
    auto r = certwatch({"pki", "issue", "--dir", d, "--ca", "root-ca", "--profile", "client", "--name",
                        "refused-" + std::to_string(++n), "--csr", (tmp / csr).string(), "--out", out});
    INFO(r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("--csr") != std::string::npos);
  }
  CHECK(pki_cli::pki_files(tmp / "pki") == before_pki);
  CHECK(pki_cli::pki_files(tmp / "out") == before_out);
  (void)issued;
}
