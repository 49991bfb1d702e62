// Acceptance for CA keys in a PKCS#11 token (issue 26, point 1), through the CLI against
// SoftHSM2: `pki init` and `pki ca` with token keys (one RSA key generated in the token, one EC
// key made by pkcs11-tool and adopted by its URI), issue and CRL signed by the token, seed
// 001's hierarchy with the server CA in the token, `pki import --key-uri`, and a wrong PIN or
// an absent token refused with nothing written. openssl is the oracle for every signature.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>

#include "integration/pki_cli.h"
#include "support/fixtures.h"
#include "support/softhsm.h"

using pki_cli::ok;
namespace fs = std::filesystem;

namespace {

// `certwatch ARGS` with the token's environment (its SOFTHSM2_CONF); requires success.
testing::RunResult token_ok(const testing::SoftHsm& hsm, std::vector<std::string> args) {
  return ok(std::move(args), hsm.env());
}

// The ledger as sqlite3 prints it: every row of every table, so that a change shows.
std::string ledger_dump(const fs::path& dir) {
  auto r = testing::run({"sqlite3", "-readonly", (dir / "ledger.sqlite").string(), ".dump"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return r.out;
}

// name -> key_uri of the ledger's CA rows (profile root or intermediate).
std::map<std::string, std::string> ledger_ca_uris(const fs::path& dir) {
  auto r = testing::run(
      {"sqlite3", "-readonly", "-separator", "|", (dir / "ledger.sqlite").string(),
       "SELECT name, key_uri FROM certificates WHERE profile IN ('root', 'intermediate')"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos < r.out.size()) {
    size_t eol = r.out.find('\n', pos);
    if (eol == std::string::npos) eol = r.out.size();
    const std::string line = r.out.substr(pos, eol - pos);
    pos = eol + 1;
    const auto bar = line.find('|');
    if (bar != std::string::npos) out[line.substr(0, bar)] = line.substr(bar + 1);
  }
  return out;
}

// Files under D/<ca>/private.
std::vector<std::string> private_files(const fs::path& dir, const std::string& ca) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir / ca / "private"))
    out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}


void openssl_crl_verifies(const std::string& crl, const std::string& ca_file) {
  auto r = testing::run({"openssl", "crl", "-in", crl, "-CAfile", ca_file, "-noout"});
  INFO("openssl crl: " << r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("verify OK") != std::string::npos);
}

}  // namespace

TEST_CASE(
    "pkcs11: init and ca keep their keys in the token, and issue, crl and import sign with them",
    "[integration][pki][pkcs11]") {
  testing::TempDir tmp;
  testing::SoftHsm hsm(tmp.path());
  const fs::path dir = tmp / "pki";
  const std::string d = dir.string(), out = (tmp / "out").string(), pin = hsm.pin_file().string();

  // The root: an RSA key generated in the token (the default rsa-3072 without --key-type).
  token_ok(hsm, {"pki", "init", "--dir", d, "--subject", "/O=Lab/CN=Token Root", "--key-uri",
                 hsm.uri("root"), "--pin-file", pin});
  // The server CA: an EC key made by the token's own tool, adopted by its URI.
  hsm.make_ec_key("server-ca", "01");
  token_ok(hsm, {"pki", "ca", "--dir", d, "--name", "server-ca", "--subject",
                 "/O=Lab/CN=Token Server CA", "--path-len", "0", "--parent-pin-file", pin,
                 "--key-uri", hsm.uri("server-ca"), "--pin-file", pin});
  auto labels = hsm.private_key_labels();
  std::sort(labels.begin(), labels.end());
  CHECK(labels == std::vector<std::string>{"root", "server-ca"});

  const std::string root = d + "/root-ca/certs/root-ca.cert.pem",
                    inter = d + "/server-ca/certs/server-ca.cert.pem";
  CHECK(pki_cli::x509_text(root).find("Public-Key: (3072 bit)") != std::string::npos);
  CHECK(pki_cli::x509_text(inter).find("NIST CURVE: P-256") != std::string::npos);
  pki_cli::openssl_verify({"-CAfile", d + "/ca-bundle.pem", inter});

  token_ok(hsm, {"pki", "issue", "--dir", d, "--ca", "server-ca", "--profile", "server", "--name",
                 "broker", "--subject", "/CN=mqtt.lab.local", "--san", "DNS:mqtt.lab.local",
                 "--out", out, "--pin-file", pin});
  token_ok(hsm, {"pki", "issue", "--dir", d, "--ca", "root-ca", "--profile", "client", "--name",
                 "dev-1", "--subject", "/CN=dev-1", "--out", out, "--pin-file", pin});
  pki_cli::openssl_verify(
      {"-CAfile", d + "/ca-bundle.pem", "-untrusted", inter, out + "/broker.chain.pem"});
  pki_cli::openssl_verify({"-CAfile", d + "/ca-bundle.pem", out + "/dev-1.cert.pem"});
  pki_cli::check_clean({"--ca-bundle", d + "/ca-bundle.pem", "--key", out + "/broker.key.pem",
                        "--host", "mqtt.lab.local", "--purpose", "server",
                        out + "/broker.chain.pem"});

  // CRLs signed in the token, one per CA; the revoked leaf is listed and refused by openssl.
  ok({"pki", "revoke", "--dir", d, "--name", "broker", "--reason", "keyCompromise"});
  auto crl = token_ok(hsm, {"pki", "crl", "--dir", d, "--ca", "server-ca", "--pin-file", pin});
  CHECK(crl.out.find("1 revoked") != std::string::npos);
  token_ok(hsm, {"pki", "crl", "--dir", d, "--ca", "root-ca", "--pin-file", pin});
  const std::string server_crl = d + "/server-ca/crl/server-ca.crl.pem",
                    root_crl = d + "/root-ca/crl/root-ca.crl.pem";
  openssl_crl_verifies(server_crl, inter);
  openssl_crl_verifies(root_crl, root);
  auto revoked = testing::run({"openssl", "verify", "-crl_check_all", "-CAfile",
                               d + "/ca-bundle.pem", "-untrusted", inter, "-CRLfile", server_crl,
                               "-CRLfile", root_crl, out + "/broker.cert.pem"});
  CHECK((revoked.out + revoked.err).find("certificate revoked") != std::string::npos);

  // No private key of a token CA in the directory: the URI alone, without the PIN.
  for (const auto& [ca, object] :
       {std::pair<std::string, std::string>{"root-ca", "root"}, {"server-ca", "server-ca"}}) {
    INFO(ca);
    CHECK(private_files(dir, ca) == std::vector<std::string>{ca + ".key.pkcs11"});
    const auto uri_file = testing::read_file(dir / ca / "private" / (ca + ".key.pkcs11"));
    CHECK(uri_file.rfind("pkcs11:token=ca;object=" + object + ";", 0) == 0);
    CHECK(uri_file.find("module-path=" + testing::SoftHsm::module_path()) != std::string::npos);
    CHECK(uri_file.find("PRIVATE KEY") == std::string::npos);
    CHECK(uri_file.find(testing::SoftHsm::pin()) == std::string::npos);
    CHECK(uri_file.find("pin-value") == std::string::npos);
  }
  // The ledger records each CA's URI and never the PIN; so does `pki list`.
  const auto uris = ledger_ca_uris(dir);
  REQUIRE(uris.size() == 2);
  CHECK(uris.at("root-ca") + "\n" ==
        testing::read_file(dir / "root-ca" / "private" / "root-ca.key.pkcs11"));
  CHECK(uris.at("root-ca").find("object=root;") != std::string::npos);
  CHECK(uris.at("server-ca").find("object=server-ca;") != std::string::npos);
  CHECK(ledger_dump(dir).find(testing::SoftHsm::pin()) == std::string::npos);
  auto list = ok({"pki", "list", "--dir", d, "--json"});
  CHECK(list.out.find(testing::SoftHsm::pin()) == std::string::npos);
  const YAML::Node rows = YAML::Load(list.out);
  REQUIRE(rows.IsSequence());
  std::map<std::string, std::string> key_types;
  for (size_t i = 0; i < rows.size(); ++i)
    key_types[rows[i]["name"].as<std::string>()] = rows[i]["key_type"].as<std::string>();
  CHECK(key_types["root-ca"] == "rsa-3072");
  CHECK(key_types["server-ca"] == "ec-p256");

  // pki import --key-uri: another directory adopts the root whose key is in the token, and issues.
  const fs::path dir2 = tmp / "adopted";
  const std::string d2 = dir2.string();
  // The wrong key for the certificate is refused first.
  {
    auto mismatch = pki_cli::certwatch({"pki", "import", "--dir", d2, "--cert", root, "--key-uri",
                                        hsm.uri("server-ca"), "--pin-file", pin},
                                       hsm.env());
    INFO(mismatch.out << mismatch.err);
    CHECK(mismatch.exit_code == 1);
    CHECK(mismatch.err.find("does not belong to the certificate CN=Token Root") !=
          std::string::npos);
    CHECK_FALSE(fs::exists(dir2 / "root-ca"));
  }
  token_ok(hsm, {"pki", "import", "--dir", d2, "--cert", root, "--key-uri", hsm.uri("root"),
                 "--pin-file", pin});
  CHECK(private_files(dir2, "root-ca") == std::vector<std::string>{"root-ca.key.pkcs11"});
  CHECK(testing::read_file(dir2 / "root-ca" / "private" / "root-ca.key.pkcs11") ==
        testing::read_file(dir / "root-ca" / "private" / "root-ca.key.pkcs11"));
  token_ok(hsm, {"pki", "issue", "--dir", d2, "--ca", "root-ca", "--profile", "client", "--name",
                 "dev-2", "--subject", "/CN=dev-2", "--out", out, "--pin-file", pin});
  pki_cli::openssl_verify({"-CAfile", d + "/ca-bundle.pem", out + "/dev-2.cert.pem"});
  // The import itself adds no ledger row (as for a CA key file); the issue does, without the PIN.
  CHECK(ledger_dump(dir2).find("dev-2") != std::string::npos);
  CHECK(ledger_dump(dir2).find(testing::SoftHsm::pin()) == std::string::npos);
}

TEST_CASE(
    "pkcs11: seed 001's hierarchy with the server CA's key in the token and the root in a file",
    "[integration][pki][pkcs11][seeds]") {
  testing::TempDir tmp;
  testing::SoftHsm hsm(tmp.path());
  const std::string d = (tmp / "ecpki").string(), pin = hsm.pin_file().string();
  const std::string s1 = d + "/mqtt-server-1", s2 = d + "/mqtt-server-2";
  ok({"pki", "init", "--dir", d, "--subject",
      "/C=DE/O=My IoT Cloud/OU=PKI/CN=My IoT Cloud Root CA"});
  token_ok(hsm, {"pki", "ca", "--dir", d, "--name", "server-ca", "--subject",
                 "/C=DE/O=IoT Cloud Server/OU=PKI/CN=IoT Cloud (MQTT) Server CA", "--path-len", "0",
                 "--validity", "1825d", "--key-uri", hsm.uri("server-ca"), "--pin-file", pin,
                 "--key-type", "rsa-2048"});
  CHECK(fs::exists(d + "/root-ca/private/root-ca.key.pem"));
  CHECK(fs::exists(d + "/server-ca/private/server-ca.key.pkcs11"));
  CHECK_FALSE(fs::exists(d + "/server-ca/private/server-ca.key.pem"));
  std::vector<std::string> issue = {
      "pki",        "issue",
      "--dir",      d,
      "--ca",       "server-ca",
      "--profile",  "server",
      "--name",     "mqtt-server",
      "--subject",  "/C=DE/O=my IoT Cloud Organization/CN=my-iot-cloud.com",
      "--san",      "DNS:my-iot-cloud.com",
      "--san",      "DNS:mqtt.my-iot-cloud.com",
      "--san",      "DNS:my-iot-cloud.net",
      "--pin-file", pin};
  auto ec = issue;
  ec.insert(ec.end(), {"--out", s1});
  token_ok(hsm, ec);
  auto rsa = issue;
  rsa.insert(rsa.end(), {"--key-type", "rsa-2048", "--out", s2});
  token_ok(hsm, rsa);

  const std::string root = d + "/root-ca/certs/root-ca.cert.pem",
                    inter = d + "/server-ca/certs/server-ca.cert.pem";
  const std::string bundle = d + "/ca-bundle.pem";
  CHECK(testing::read_file(bundle) == testing::read_file(root));
  CHECK(pki_cli::x509_text(inter).find("Public-Key: (2048 bit)") != std::string::npos);
  for (const auto& s : {s1, s2}) {
    const auto chain = testing::read_file(s + "/mqtt-server.chain.pem");
    CHECK(pki_cli::pem_count(chain) == 2);
    CHECK(chain == testing::read_file(s + "/mqtt-server.cert.pem") + testing::read_file(inter));
    pki_cli::openssl_verify({"-CAfile", bundle, "-untrusted", inter, s + "/mqtt-server.chain.pem"});
    pki_cli::openssl_verify({"-CAfile", bundle, "-untrusted", inter, s + "/mqtt-server.cert.pem"});
    pki_cli::check_clean({"--ca-bundle", bundle, "--key", s + "/mqtt-server.key.pem", "--host",
                          "mqtt.my-iot-cloud.com", "--purpose", "server",
                          s + "/mqtt-server.chain.pem"});
  }
  pki_cli::openssl_verify({"-CAfile", bundle, inter});
  const auto bc = pki_cli::extension(pki_cli::x509_text(inter), "X509v3 Basic Constraints");
  CHECK((bc.present && bc.critical && bc.value == "CA:TRUE, pathlen:0"));
  const std::string strict = (tmp / "strict-bundle.pem").string();
  ok({"pki", "bundle", "--dir", d, "--with-intermediates", "--out", strict});
  CHECK(testing::read_file(strict) == testing::read_file(inter) + testing::read_file(root));
}

TEST_CASE("pkcs11: a wrong PIN or an absent token is refused by name and nothing is written",
          "[integration][pki][pkcs11][faults]") {
  testing::TempDir tmp;
  testing::SoftHsm hsm(tmp.path());
  const fs::path dir = tmp / "pki";
  const std::string d = dir.string(), out = (tmp / "out").string(), pin = hsm.pin_file().string();
  const std::string wrong = hsm.wrong_pin_file().string();
  token_ok(hsm, {"pki", "init", "--dir", d, "--subject", "/CN=Fault Root", "--key-uri",
                 hsm.uri("root"), "--key-type", "rsa-2048", "--pin-file", pin});
  token_ok(hsm, {"pki", "issue", "--dir", d, "--ca", "root-ca", "--profile", "client", "--name",
                 "dev-1", "--subject", "/CN=dev-1", "--out", out, "--pin-file", pin});
  ok({"pki", "revoke", "--dir", d, "--name", "dev-1"});
  const auto before = pki_cli::pki_files(dir);
  const auto ledger_before = ledger_dump(dir);
  const std::string crl_file = d + "/root-ca/crl/root-ca.crl.pem";

  // Each refused command, its outputs, and what its message must name.
  struct Refusal {
    std::vector<std::string> args;
    std::vector<fs::path> outputs;
  };
  const auto refusals = [&](const std::string& pin_path) {
    return std::vector<Refusal>{
        {{"pki", "issue", "--dir", d, "--ca", "root-ca", "--profile", "server", "--name", "broker",
          "--subject", "/CN=broker", "--san", "DNS:broker", "--out", out, "--pin-file", pin_path},
         {tmp / "out" / "broker.cert.pem", tmp / "out" / "broker.key.pem",
          tmp / "out" / "broker.chain.pem"}},
        {{"pki", "crl", "--dir", d, "--ca", "root-ca", "--pin-file", pin_path}, {crl_file}},
        {{"pki", "ca", "--dir", d, "--name", "server-ca", "--subject", "/CN=Fault Server CA",
          "--parent-pin-file", pin_path},
         {dir / "server-ca"}},
    };
  };
  const auto nothing_written = [&] {
    CHECK(pki_cli::pki_files(dir) == before);
    CHECK(ledger_dump(dir) == ledger_before);
  };
  SECTION("a wrong PIN") {
    for (const auto& r : refusals(wrong)) {
      INFO(r.args[1]);
      auto res = pki_cli::certwatch(r.args, hsm.env());
      INFO(res.out << res.err);
      CHECK(res.exit_code == 1);
      CHECK(res.err.find("token 'ca': cannot log in: wrong PIN") != std::string::npos);
      for (const auto& p : r.outputs) CHECK_FALSE(fs::exists(p));
    }
    // init into a fresh directory with a wrong PIN leaves no directory behind and no key in the
    // token.
    auto init =
        pki_cli::certwatch({"pki", "init", "--dir", (tmp / "other").string(), "--subject",
                            "/CN=Other", "--key-uri", hsm.uri("other-root"), "--pin-file", wrong},
                           hsm.env());
    CHECK(init.exit_code == 1);
    CHECK(init.err.find("wrong PIN") != std::string::npos);
    CHECK_FALSE(fs::exists(tmp / "other" / "root-ca"));
    CHECK(hsm.private_key_labels() == std::vector<std::string>{"root"});
    nothing_written();
  }
  SECTION("an absent token") {
    hsm.remove();
    for (const auto& r : refusals(pin)) {
      INFO(r.args[1]);
      auto res = pki_cli::certwatch(r.args, hsm.env());
      INFO(res.out << res.err);
      CHECK(res.exit_code == 1);
      CHECK(res.err.find("no token 'ca' in " + testing::SoftHsm::module_path()) !=
            std::string::npos);
      CHECK(res.err.find("no token is present") != std::string::npos);
      for (const auto& p : r.outputs) CHECK_FALSE(fs::exists(p));
    }
    nothing_written();
    hsm.put_back();
    // Back in its slot, the token signs again.
    token_ok(hsm, {"pki", "crl", "--dir", d, "--ca", "root-ca", "--pin-file", pin});
    openssl_crl_verifies(crl_file, d + "/root-ca/certs/root-ca.cert.pem");
  }
}

// A --key-uri whose key is not the certificate's is refused naming --key-uri, the option given
// (it once said "--key does not belong", naming an option that was not given).
TEST_CASE("pkcs11: pki import --key-uri with another certificate's key names --key-uri",
          "[integration][pki][pkcs11]") {
  testing::TempDir tmp;
  testing::SoftHsm hsm(tmp.path());
  const std::string d = (tmp / "pki").string(), pin = hsm.pin_file().string();
  token_ok(hsm, {"pki", "init", "--dir", d, "--subject", "/CN=Named Root", "--key-uri",
                 hsm.uri("root"), "--key-type", "rsa-2048", "--pin-file", pin});
  hsm.make_ec_key("other", "02");
  auto r = pki_cli::certwatch(
      {"pki", "import", "--dir", (tmp / "adopted").string(), "--cert",
       d + "/root-ca/certs/root-ca.cert.pem", "--key-uri", hsm.uri("other"), "--pin-file", pin},
      hsm.env());
  INFO(r.err);
  REQUIRE(r.exit_code == 1);
  CHECK(r.err.find("--key-uri") != std::string::npos);
  CHECK(r.err.find("--key does not") == std::string::npos);
}

TEST_CASE(
    "pkcs11: the PIN comes from a file, a systemd credential or the URI's pin-source, never the "
    "command line",
    "[integration][pki][pkcs11]") {
  testing::TempDir tmp;
  testing::SoftHsm hsm(tmp.path());
  const std::string d = (tmp / "pki").string(), out = (tmp / "out").string();
  // pin-source=file:F in the URI: no PIN option at all, and the stored URI names the file only.
  token_ok(hsm, {"pki", "init", "--dir", d, "--subject", "/CN=Pin Root", "--key-type", "rsa-2048",
                 "--key-uri", hsm.uri("root") + "&pin-source=file:" + hsm.pin_file().string()});
  const auto stored =
      testing::read_file(tmp / "pki" / "root-ca" / "private" / "root-ca.key.pkcs11");
  CHECK(stored.find("pin-source=file:" + hsm.pin_file().string()) != std::string::npos);
  CHECK(stored.find(testing::SoftHsm::pin()) == std::string::npos);
  token_ok(hsm, {"pki", "issue", "--dir", d, "--ca", "root-ca", "--profile", "client", "--name",
                 "by-uri", "--subject", "/CN=by-uri", "--out", out});
  pki_cli::openssl_verify({"-CAfile", d + "/ca-bundle.pem", out + "/by-uri.cert.pem"});

  // A systemd credential: named, or <ca>.pin found without a name.
  const auto creds = tmp / "credentials";
  fs::create_directories(creds);
  testing::write_file(creds / "hsm-pin", testing::SoftHsm::pin() + "\n");
  testing::write_file(creds / "server-ca.pin", testing::SoftHsm::pin() + "\n");
  auto env = hsm.env();
  env.push_back("CREDENTIALS_DIRECTORY=" + creds.string());
  ok({"pki", "ca", "--dir", d, "--name", "server-ca", "--subject", "/CN=Pin Server CA",
      "--key-type", "rsa-2048", "--key-uri", hsm.uri("server-ca"), "--pin-credential", "hsm-pin"},
     env);
  ok({"pki", "issue", "--dir", d, "--ca", "server-ca", "--profile", "client", "--name",
      "by-credential", "--subject", "/CN=by-credential", "--out", out},
     env);
  pki_cli::openssl_verify({"-CAfile", d + "/ca-bundle.pem", "-untrusted",
                           out + "/by-credential.chain.pem", out + "/by-credential.cert.pem"});

  // Neither: refused with how to give one. On the command line: refused before anything runs.
  auto none = pki_cli::certwatch({"pki", "crl", "--dir", d, "--ca", "server-ca"}, hsm.env());
  CHECK(none.exit_code == 1);
  CHECK(none.err.find("no user PIN was given") != std::string::npos);
  CHECK(none.err.find("--pin-file F") != std::string::npos);
  auto argv_pin = pki_cli::certwatch(
      {"pki", "crl", "--dir", d, "--ca", "server-ca", "--pin", testing::SoftHsm::pin()}, hsm.env());
  CHECK(argv_pin.exit_code == 3);
  CHECK(argv_pin.err.find("PINs are never taken from the command line") != std::string::npos);
  CHECK_FALSE(fs::exists(tmp / "pki" / "server-ca" / "crl"));
}
