// Acceptance for the issuer (issue #3): each seed's PKI made with `certwatch pki` alone,
// judged by `openssl verify` (with the seed's own command line) and `certwatch check`, and
// every extension read back from `openssl x509 -text`; `pki import` of a CA the seed's openssl
// commands made; and every refusal leaving nothing behind.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>

#include "integration/pki_cli.h"
#include "support/fixtures.h"

using pki_cli::extension;
using pki_cli::ok;
using pki_cli::x509_text;
namespace fs = std::filesystem;

namespace {

void expect_root(const std::string& cert) {
  const auto t = x509_text(cert);
  auto bc = extension(t, "X509v3 Basic Constraints");
  CHECK((bc.present && bc.critical && bc.value == "CA:TRUE"));
  auto ku = extension(t, "X509v3 Key Usage");
  CHECK((ku.present && ku.critical && ku.value == "Certificate Sign, CRL Sign"));
  CHECK(extension(t, "X509v3 Subject Key Identifier").present);
  CHECK(pki_cli::extension_count(t) == 3);
}

void expect_intermediate(const std::string& cert, int path_len) {
  const auto t = x509_text(cert);
  auto bc = extension(t, "X509v3 Basic Constraints");
  CHECK((bc.present && bc.critical && bc.value == "CA:TRUE, pathlen:" + std::to_string(path_len)));
  auto ku = extension(t, "X509v3 Key Usage");
  CHECK((ku.present && ku.critical && ku.value == "Certificate Sign, CRL Sign"));
  CHECK(extension(t, "X509v3 Subject Key Identifier").present);
  CHECK(extension(t, "X509v3 Authority Key Identifier").present);
  CHECK(pki_cli::extension_count(t) == 4);
}

void expect_leaf(const std::string& cert, bool server, bool rsa, const std::string& sans) {
  const auto t = x509_text(cert);
  INFO(cert);
  auto bc = extension(t, "X509v3 Basic Constraints");
  CHECK((bc.present && bc.value == "CA:FALSE"));
  auto ku = extension(t, "X509v3 Key Usage");
  CHECK((ku.present && ku.critical));
  CHECK(ku.value == (rsa ? "Digital Signature, Key Encipherment" : "Digital Signature"));
  auto eku = extension(t, "X509v3 Extended Key Usage");
  CHECK(eku.value == (server ? "TLS Web Server Authentication" : "TLS Web Client Authentication"));
  auto san = extension(t, "X509v3 Subject Alternative Name");
  CHECK(san.present == !sans.empty());
  if (!sans.empty()) CHECK(san.value == sans);
  CHECK(extension(t, "X509v3 Subject Key Identifier").present);
  CHECK(extension(t, "X509v3 Authority Key Identifier").present);
  CHECK(pki_cli::extension_count(t) == (sans.empty() ? 5 : 6));
  CHECK(t.find(rsa ? "Public-Key: (2048 bit)" : "NIST CURVE: P-256") != std::string::npos);
}

std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.path().filename().string().rfind("ledger.sqlite", 0) == 0) continue;
    out[e.path().string()] = e.is_regular_file() ? testing::read_file(e.path()) : "<dir>";
  }
  return out;
}

}  // namespace

TEST_CASE("seed 000 - EC P-256 root, server mqtt.lab.local, client whatwatt-001", "[integration][pki][seeds]") {
  testing::TempDir tmp;
  const std::string d = (tmp / "mqtt-ca").string(), out = (tmp / "out").string();
  ok({"pki", "init", "--dir", d, "--subject", "/C=US/O=Lab/OU=IoT/CN=Lab ECC Root CA", "--validity", "3650d"});
  ok({"pki", "issue", "--dir", d, "--ca", "root-ca", "--profile", "server", "--name", "server", "--subject",
      "/C=US/O=Lab/OU=IoT/CN=mqtt.lab.local", "--san", "DNS:mqtt.lab.local", "--validity", "365d", "--out", out});
  ok({"pki", "issue", "--dir", d, "--ca", "root-ca", "--profile", "client", "--name", "whatwatt", "--subject",
      "/C=US/O=Lab/OU=Metering/CN=whatwatt-001", "--validity", "365d", "--out", out});

  const std::string ca = d + "/root-ca/certs/root-ca.cert.pem";
  // The seed's own verification: openssl verify -CAfile ca.crt server.crt / whatwatt.crt
  pki_cli::openssl_verify({"-CAfile", ca, out + "/server.cert.pem"});
  pki_cli::openssl_verify({"-CAfile", ca, out + "/whatwatt.cert.pem"});
  pki_cli::openssl_verify({"-CAfile", ca, ca});

  expect_root(ca);
  expect_leaf(out + "/server.cert.pem", true, false, "DNS:mqtt.lab.local");
  expect_leaf(out + "/whatwatt.cert.pem", false, false, "");
  CHECK(x509_text(ca).find("NIST CURVE: P-256") != std::string::npos);
  CHECK(x509_text(out + "/whatwatt.cert.pem").find("CN = whatwatt-001") != std::string::npos);

  const std::string bundle = d + "/ca-bundle.pem";
  pki_cli::check_clean({"--ca-bundle", bundle, "--key", out + "/server.key.pem", "--host", "mqtt.lab.local",
                        "--purpose", "server", out + "/server.chain.pem"});
  pki_cli::check_clean({"--ca-bundle", bundle, "--key", out + "/whatwatt.key.pem", "--purpose", "client",
                        out + "/whatwatt.cert.pem"});
  pki_cli::check_clean({"--ca-bundle", bundle, d});
  pki_cli::check_clean({"--ca-bundle", bundle, out});
}

TEST_CASE("seed 001 - root, server CA pathlen 0, four-SAN server, chain, bundle, RSA server", "[integration][pki][seeds]") {
  testing::TempDir tmp;
  const std::string d = (tmp / "ecpki").string();
  const std::string s1 = d + "/mqtt-server-1", s2 = d + "/mqtt-server-2";
  ok({"pki", "init", "--dir", d, "--subject", "/C=DE/O=My IoT Cloud/OU=PKI/CN=My IoT Cloud Root CA"});
  ok({"pki", "ca", "--dir", d, "--name", "server-ca", "--subject",
      "/C=DE/O=IoT Cloud Server/OU=PKI/CN=IoT Cloud (MQTT) Server CA", "--path-len", "0", "--validity", "1825d"});
  const std::vector<std::string> sans = {"--san", "DNS:my-iot-cloud.com", "--san", "DNS:mqtt.my-iot-cloud.com",
                                         "--san", "DNS:my-iot-cloud.net",  "--san", "DNS:mqtt.my-iot-cloud.com"};
  std::vector<std::string> issue = {"pki", "issue", "--dir", d, "--ca", "server-ca", "--profile", "server",
                                    "--name", "mqtt-server", "--subject",
                                    "/C=DE/O=my IoT Cloud Organization/CN=my-iot-cloud.com"};
  issue.insert(issue.end(), sans.begin(), sans.end());
  auto ec = issue;
  ec.insert(ec.end(), {"--out", s1});
  auto r = ok(ec);
  // DNS.2 and DNS.4 are the same name in the seed: written once, and said so.
  CHECK(r.err.find("duplicate SAN DNS:mqtt.my-iot-cloud.com") != std::string::npos);
  auto rsa = issue;
  rsa.insert(rsa.end(), {"--key-type", "rsa-2048", "--out", s2});  // seed 001 section 10
  ok(rsa);

  const std::string root = d + "/root-ca/certs/root-ca.cert.pem", inter = d + "/server-ca/certs/server-ca.cert.pem";
  const std::string bundle = d + "/ca-bundle.pem";
  // Root-only bundle (section 6).
  CHECK(testing::read_file(bundle) == testing::read_file(root));
  // Chain: leaf first, then the intermediate, no root (section 5).
  const auto chain = testing::read_file(s1 + "/mqtt-server.chain.pem");
  CHECK(pki_cli::pem_count(chain) == 2);
  CHECK(chain == testing::read_file(s1 + "/mqtt-server.cert.pem") + testing::read_file(inter));

  // The seed's own checks (5.1 and 6.2).
  for (const auto& s : {s1, s2}) {
    pki_cli::openssl_verify({"-CAfile", bundle, "-untrusted", inter, s + "/mqtt-server.chain.pem"});
    pki_cli::openssl_verify({"-CAfile", bundle, "-untrusted", inter, s + "/mqtt-server.cert.pem"});
  }
  pki_cli::openssl_verify({"-CAfile", bundle, inter});

  expect_root(root);
  expect_intermediate(inter, 0);
  const std::string three = "DNS:my-iot-cloud.com, DNS:mqtt.my-iot-cloud.com, DNS:my-iot-cloud.net";
  expect_leaf(s1 + "/mqtt-server.cert.pem", true, false, three);
  expect_leaf(s2 + "/mqtt-server.cert.pem", true, true, three);

  for (const auto& s : {s1, s2})
    for (const auto* host : {"my-iot-cloud.com", "mqtt.my-iot-cloud.com", "my-iot-cloud.net"})
      pki_cli::check_clean({"--ca-bundle", bundle, "--key", s + "/mqtt-server.key.pem", "--host", host,
                            "--purpose", "server", s + "/mqtt-server.chain.pem"});
  pki_cli::check_clean({"--ca-bundle", bundle, "--ca-bundle", inter, s1 + "/mqtt-server.cert.pem"});
  pki_cli::check_clean({"--ca-bundle", bundle, d + "/root-ca", d + "/server-ca", bundle});

  // The stricter bundle of 6.1: intermediate, then root.
  const std::string strict = (tmp / "strict-bundle.pem").string();
  ok({"pki", "bundle", "--dir", d, "--with-intermediates", "--out", strict});
  CHECK(testing::read_file(strict) == testing::read_file(inter) + testing::read_file(root));

  auto list = ok({"pki", "list", "--dir", d, "--json"});
  CHECK(list.out.find("\"profile\":\"intermediate\"") != std::string::npos);
  CHECK(list.out.find("\"key_type\":\"rsa-2048\"") != std::string::npos);
}

TEST_CASE("seed 002 - RSA 2048, encrypted root key, server/engine/transmission CAs", "[integration][pki][seeds]") {
  testing::TempDir tmp;
  const std::string d = (tmp / "ca").string(), certs = (tmp / "certs").string();
  const std::string pass = (tmp / "root.pass").string();
  testing::write_file(pass, "chariot root passphrase\n");
  ok({"pki", "init", "--dir", d, "--subject", "/C=US/O=Chariot Lab/OU=CA/CN=chariot.lab.local", "--key-type",
      "rsa-2048", "--validity", "3650d", "--passphrase-file", pass});
  const std::string root_key = d + "/root-ca/private/root-ca.key.pem";
  CHECK(testing::read_file(root_key).rfind("-----BEGIN ENCRYPTED PRIVATE KEY-----", 0) == 0);
  CHECK(testing::run({"openssl", "pkey", "-in", root_key, "-passin", "file:" + pass, "-noout"}).exit_code == 0);
  CHECK(testing::run({"openssl", "pkey", "-in", root_key, "-passin", "pass:wrong", "-noout"}).exit_code != 0);
  auto asn1 = testing::run({"openssl", "asn1parse", "-in", root_key});
  CHECK(asn1.out.find("aes-256-cbc") != std::string::npos);

  struct Family {
    const char* ca;
    const char* ca_cn;
    const char* profile;
    const char* leaf;
    const char* leaf_cn;
  };
  const Family families[] = {{"server", "Chariot Server CA", "server", "chariot", "chariot.lab.local"},
                             {"engine", "MQTT Engine CA", "client", "engine", "mqtt-engine"},
                             {"transmission", "MQTT Transmission CA", "client", "transmission", "mqtt-transmission"}};
  for (const auto& f : families) {
    ok({"pki", "ca", "--dir", d, "--name", f.ca, "--subject", std::string("/C=US/O=Chariot Lab/OU=CA/CN=") + f.ca_cn,
        "--key-type", "rsa-2048", "--parent-passphrase-file", pass});
    std::vector<std::string> issue = {"pki", "issue", "--dir", d, "--ca", f.ca, "--profile", f.profile, "--name",
                                      f.leaf, "--subject", std::string("/C=US/O=Chariot Lab/CN=") + f.leaf_cn,
                                      "--key-type", "rsa-2048", "--out", certs + "/" + f.leaf};
    if (std::string(f.profile) == "server") issue.insert(issue.end(), {"--san", "DNS:chariot.lab.local"});
    ok(issue);
  }
  // Without the passphrase, the encrypted root signs nothing.
  auto no_pass = pki_cli::certwatch({"pki", "ca", "--dir", d, "--name", "other", "--subject", "/CN=Other CA"});
  CHECK(no_pass.exit_code == 1);
  CHECK(no_pass.err.find("encrypted") != std::string::npos);

  const std::string root = d + "/root-ca/certs/root-ca.cert.pem", bundle = d + "/ca-bundle.pem";
  expect_root(root);
  CHECK(x509_text(root).find("Public-Key: (2048 bit)") != std::string::npos);
  for (const auto& f : families) {
    const std::string inter = d + "/" + f.ca + "/certs/" + f.ca + ".cert.pem";
    const std::string leaf = certs + "/" + f.leaf + "/" + f.leaf;
    expect_intermediate(inter, 0);
    const bool server = std::string(f.profile) == "server";
    expect_leaf(leaf + ".cert.pem", server, true, server ? "DNS:chariot.lab.local" : "");
    pki_cli::openssl_verify({"-CAfile", root, inter});
    pki_cli::openssl_verify({"-CAfile", root, "-untrusted", inter, leaf + ".cert.pem"});
    pki_cli::openssl_verify({"-CAfile", bundle, "-untrusted", leaf + ".chain.pem", leaf + ".chain.pem"});
    std::vector<std::string> check = {"--ca-bundle", bundle, "--key", leaf + ".key.pem", "--purpose", f.profile};
    if (server) check.insert(check.end(), {"--host", "chariot.lab.local"});
    check.push_back(leaf + ".chain.pem");
    pki_cli::check_clean(check);
  }
  // Clients of one family are not signed by the other family's CA.
  auto cross = testing::run({"openssl", "verify", "-CAfile", root, "-untrusted", d + "/engine/certs/engine.cert.pem",
                             certs + "/transmission/transmission.cert.pem"});
  CHECK(cross.exit_code != 0);
  pki_cli::check_clean({"--ca-bundle", bundle, d});
}

TEST_CASE("pki import adopts a CA made by the seed 001 openssl commands", "[integration][pki][import]") {
  testing::TempDir tmp;
  const std::string w = tmp.path().string();
  // Seed 001 sections 2, 3 and 6, verbatim but for the directory.
  auto made = testing::sh(
      "set -e; cd " + w +
      "; mkdir -p root-ca/private root-ca/certs server-ca/private server-ca/certs server-ca/csr"
      "; openssl ecparam -out root-ca/private/root-ca.key.pem -name secp256r1 -genkey"
      "; chmod 400 root-ca/private/root-ca.key.pem"
      "; openssl req -x509 -new -nodes -key root-ca/private/root-ca.key.pem -sha256 -days 3650"
      "   -out root-ca/certs/root-ca.cert.pem -subj '/C=DE/O=My IoT Cloud/OU=PKI/CN=My IoT Cloud Root CA'"
      "; openssl ecparam -out server-ca/private/server-ca.key.pem -name secp256r1 -genkey"
      "; chmod 400 server-ca/private/server-ca.key.pem"
      "; openssl req -new -key server-ca/private/server-ca.key.pem -out server-ca/csr/server-ca.csr.pem"
      "   -subj '/C=DE/O=IoT Cloud Server/OU=PKI/CN=IoT Cloud (MQTT) Server CA'"
      "; printf 'basicConstraints = critical, CA:TRUE, pathlen:0\\nkeyUsage = critical, keyCertSign, cRLSign\\n"
      "subjectKeyIdentifier = hash\\nauthorityKeyIdentifier = keyid, issuer\\n' > root-ca/signcsr.conf"
      "; openssl x509 -req -in server-ca/csr/server-ca.csr.pem -CA root-ca/certs/root-ca.cert.pem"
      "   -CAkey root-ca/private/root-ca.key.pem -CAcreateserial -out server-ca/certs/server-ca.cert.pem"
      "   -days 1825 -sha256 -extfile root-ca/signcsr.conf 2>&1"
      "; cat root-ca/certs/root-ca.cert.pem > ca-bundle.pem");
  INFO(made.out << made.err);
  REQUIRE(made.exit_code == 0);

  const std::string d = w + "/certwatch-pki", out = w + "/out";
  auto imp = ok({"pki", "import", "--dir", d, "--name", "server-ca", "--cert", w + "/server-ca/certs/server-ca.cert.pem",
                 "--key", w + "/server-ca/private/server-ca.key.pem", "--chain", w + "/root-ca/certs/root-ca.cert.pem"});
  ok({"pki", "issue", "--dir", d, "--ca", "server-ca", "--profile", "server", "--name", "mqtt-server", "--subject",
      "/C=DE/O=my IoT Cloud Organization/CN=my-iot-cloud.com", "--san", "DNS:my-iot-cloud.com", "--out", out});
  // Verifies with that CA's original bundle, by the seed's own command line.
  pki_cli::openssl_verify({"-CAfile", w + "/ca-bundle.pem", "-untrusted", w + "/server-ca/certs/server-ca.cert.pem",
                           out + "/mqtt-server.chain.pem"});
  pki_cli::openssl_verify({"-CAfile", w + "/ca-bundle.pem", "-untrusted", out + "/mqtt-server.chain.pem",
                           out + "/mqtt-server.cert.pem"});
  CHECK(testing::read_file(out + "/mqtt-server.chain.pem") ==
        testing::read_file(out + "/mqtt-server.cert.pem") + testing::read_file(w + "/server-ca/certs/server-ca.cert.pem"));
  CHECK(testing::read_file(d + "/ca-bundle.pem") == testing::read_file(w + "/ca-bundle.pem"));
  pki_cli::check_clean({"--ca-bundle", w + "/ca-bundle.pem", "--key", out + "/mqtt-server.key.pem", "--host",
                        "my-iot-cloud.com", "--purpose", "server", out + "/mqtt-server.chain.pem"});

  // Seed 002's encrypted root (genrsa -des3): imported with its passphrase, kept encrypted.
  const std::string pass = w + "/pass";
  testing::write_file(pass, "seed-two\n");
  auto rsa = testing::sh("set -e; cd " + w + "; mkdir -p s2; openssl genrsa -des3 -passout pass:seed-two -out s2/ca.key 2048 2>&1"
                         "; openssl req -new -x509 -key s2/ca.key -passin pass:seed-two -days 3650 -out s2/ca.crt"
                         "   -subj '/C=US/O=Chariot/OU=CA/CN=chariot.lab.local' 2>&1");
  INFO(rsa.out);
  REQUIRE(rsa.exit_code == 0);
  const std::string d2 = w + "/pki2";
  auto wrong = pki_cli::certwatch({"pki", "import", "--dir", d2, "--cert", w + "/s2/ca.crt", "--key", w + "/s2/ca.key"});
  CHECK(wrong.exit_code == 1);
  CHECK_FALSE(fs::exists(d2));
  ok({"pki", "import", "--dir", d2, "--cert", w + "/s2/ca.crt", "--key", w + "/s2/ca.key", "--passphrase-file", pass});
  CHECK(testing::read_file(d2 + "/root-ca/private/root-ca.key.pem").find("ENCRYPTED PRIVATE KEY") != std::string::npos);
  ok({"pki", "issue", "--dir", d2, "--ca", "root-ca", "--profile", "client", "--name", "engine", "--subject",
      "/CN=mqtt-engine", "--key-type", "rsa-2048", "--out", out, "--passphrase-file", pass});
  pki_cli::openssl_verify({"-CAfile", w + "/s2/ca.crt", out + "/engine.cert.pem"});
}

TEST_CASE("every refusal of the CLI is clear and writes nothing", "[integration][pki][refusals]") {
  testing::TempDir tmp;
  const std::string d = (tmp / "pki").string(), out = (tmp / "out").string();
  const std::string pass = (tmp / "pass").string(), bad_pass = (tmp / "bad").string();
  testing::write_file(pass, "the right one\n");
  testing::write_file(bad_pass, "not it\n");
  ok({"pki", "init", "--dir", d, "--subject", "/CN=Root", "--passphrase-file", pass});
  ok({"pki", "ca", "--dir", d, "--name", "srv-ca", "--subject", "/CN=Server CA", "--validity", "30d",
      "--parent-passphrase-file", pass});
  ok({"pki", "issue", "--dir", d, "--ca", "srv-ca", "--profile", "server", "--name", "taken", "--subject", "/CN=t",
      "--san", "DNS:t.lab", "--validity", "1d", "--out", out});
  const auto before = snapshot(tmp.path());
  const auto ledger_before = ok({"pki", "list", "--dir", d, "--json"}).out;

  const std::vector<std::string> base = {"pki", "issue", "--dir", d, "--profile", "server", "--out", out};
  struct Case {
    const char* what;
    std::vector<std::string> extra;
    int exit_code;
    const char* says;
  };
  const std::vector<Case> cases = {
      {"unknown CA", {"--ca", "nope", "--subject", "/CN=x", "--san", "DNS:x.lab"}, 1, "unknown CA 'nope'"},
      {"bad DN", {"--ca", "srv-ca", "--subject", "/CN=x/C=Germany", "--san", "DNS:x.lab"}, 1, "two-letter"},
      {"bad SAN", {"--ca", "srv-ca", "--subject", "/CN=x", "--san", "DNS:x lab"}, 1, "invalid character"},
      {"SAN without type", {"--ca", "srv-ca", "--subject", "/CN=x", "--san", "x.lab"}, 1, "has no type"},
      {"server without SAN", {"--ca", "srv-ca", "--subject", "/CN=x"}, 1, "needs at least one SAN"},
      {"validity beyond issuer", {"--ca", "srv-ca", "--subject", "/CN=x", "--san", "DNS:x.lab", "--validity", "90d"}, 1,
       "beyond the issuer"},
      {"wrong passphrase", {"--ca", "root-ca", "--subject", "/CN=x", "--san", "DNS:x.lab", "--passphrase-file", bad_pass},
       1, "wrong passphrase"},
      {"existing output", {"--ca", "srv-ca", "--subject", "/CN=x", "--san", "DNS:x.lab", "--validity", "1d", "--name",
                           "taken"}, 1, "--force"},
      {"passphrase on the command line", {"--ca", "root-ca", "--subject", "/CN=x", "--san", "DNS:x.lab",
                                          "--passphrase", "the right one"}, 3, "never taken from the command line"},
      {"bad key type", {"--ca", "srv-ca", "--subject", "/CN=x", "--san", "DNS:x.lab", "--key-type", "dsa"}, 3,
       "unknown key type"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    auto args = base;
    args.insert(args.end(), c.extra.begin(), c.extra.end());
    if (std::find(args.begin(), args.end(), "--name") == args.end()) args.insert(args.end(), {"--name", "new"});
    auto r = pki_cli::certwatch(args);
    INFO(r.err);
    CHECK(r.exit_code == c.exit_code);
    CHECK(r.err.find(c.says) != std::string::npos);
    CHECK(snapshot(tmp.path()) == before);
  }
  auto ca_wrong = pki_cli::certwatch({"pki", "ca", "--dir", d, "--name", "x-ca", "--subject", "/CN=X",
                                      "--parent-passphrase-file", bad_pass});
  CHECK(ca_wrong.exit_code == 1);
  auto init_again = pki_cli::certwatch({"pki", "init", "--dir", d, "--subject", "/CN=Root 2"});
  CHECK(init_again.exit_code == 1);
  CHECK(init_again.err.find("--force") != std::string::npos);
  // --force cannot replace a root that has CAs below it: they would be orphaned.
  auto init_forced = pki_cli::certwatch({"pki", "init", "--dir", d, "--subject", "/CN=Root 2", "--force"});
  CHECK(init_forced.exit_code == 1);
  CHECK(init_forced.err.find("srv-ca") != std::string::npos);
  // A validity past 9999-12-31 cannot be encoded: refused, not wrapped around to 1970.
  auto forever = pki_cli::certwatch({"pki", "init", "--dir", (tmp / "forever").string(), "--subject", "/CN=R",
                                     "--validity", "20000000d"});
  CHECK(forever.exit_code == 1);
  CHECK(forever.err.find("9999-12-31") != std::string::npos);
  CHECK_FALSE(fs::exists(tmp / "forever" / "root-ca" / "certs" / "root-ca.cert.pem"));
  fs::remove_all(tmp / "forever");  // the refusal may leave the empty directory it was given
  CHECK(snapshot(tmp.path()) == before);
  CHECK(ok({"pki", "list", "--dir", d, "--json"}).out == ledger_before);

  // systemd credential: the passphrase found in $CREDENTIALS_DIRECTORY/<ca>.passphrase.
  testing::TempDir creds;
  testing::write_file(creds / "root-ca.passphrase", "the right one\n");
  ok({"pki", "issue", "--dir", d, "--ca", "root-ca", "--profile", "client", "--name", "via-cred", "--subject",
      "/CN=via-cred", "--out", out},
     {"CREDENTIALS_DIRECTORY=" + creds.path().string()});
  ok({"pki", "issue", "--dir", d, "--ca", "root-ca", "--profile", "client", "--name", "via-named-cred", "--subject",
      "/CN=c", "--out", out, "--passphrase-credential", "root-ca.passphrase"},
     {"CREDENTIALS_DIRECTORY=" + creds.path().string()});
  // Every sub-command answers --help.
  for (const auto* sub : {"init", "ca", "issue", "import", "bundle", "list", "revoke", "crl"}) {
    auto h = ok({"pki", sub, "--help"});
    CHECK(h.out.find("Usage: certwatch pki") != std::string::npos);
  }
}
