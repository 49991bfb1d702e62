// Issue 21, acceptance 2: every certificate label of every series equals what `openssl x509`
// says of that certificate, whichever source sees it (a watched cert file and chain file, an
// endpoint served by `openssl s_server`, the ledger of a PKI directory holding two CAs under one
// `issuers:` entry), and a ledger target starts with the name of the CA that issued its row.
// openssl is the oracle: each series is matched to its certificate by fingerprint, and the
// certificate's facts are openssl's words, only reformatted (colons, case, dates as seconds,
// the SAN list's separators).
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "integration/agent_harness.h"
#include "integration/pki_cli.h"
#include "support/tls_servers.h"

namespace fs = std::filesystem;

namespace {

using Labels = std::map<std::string, std::string>;

// The labels of one exposition line, escapes (\\, \", \n) undone.
Labels labels_of(const std::string& line) {
  Labels out;
  size_t i = line.find('{');
  REQUIRE(i != std::string::npos);
  ++i;
  while (i < line.size() && line[i] != '}') {
    const size_t eq = line.find("=\"", i);
    REQUIRE(eq != std::string::npos);
    const std::string name = line.substr(i, eq - i);
    std::string value;
    size_t j = eq + 2;
    for (; j < line.size() && line[j] != '"'; ++j) {
      if (line[j] == '\\' && j + 1 < line.size()) {
        ++j;
        value += line[j] == 'n' ? '\n' : line[j];
      } else {
        value += line[j];
      }
    }
    REQUIRE(j < line.size());
    out[name] = value;
    i = j + 1;
    if (i < line.size() && line[i] == ',') ++i;
  }
  return out;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  s.erase(0, s.find_first_not_of(' '));
  return s;
}

// "notAfter=Nov 24 08:14:22 2027 GMT" -> POSIX seconds.
int64_t labels_openssl_date(const std::string& text) {
  std::tm tm{};
  REQUIRE(::strptime(text.c_str(), "%b %d %H:%M:%S %Y GMT", &tm) != nullptr);
  return static_cast<int64_t>(::timegm(&tm));
}

// The value of the last `field = value` line of `openssl x509 -nameopt multiline` output for
// `field` (the name's last CN, as X509 orders it), "" if none.
std::string last_multiline(const std::string& text, const std::string& field) {
  std::string found;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const auto t = trimmed(line);
    if (t.rfind(field + " ", 0) != 0) continue;
    found = trimmed(t.substr(t.find(" = ") + 3));
  }
  return found;
}

// What openssl says of one certificate.
struct OpensslView {
  fs::path pem;
  std::string subject, issuer, subject_cn, issuer_cn, serial, fingerprint, public_key;
  std::string sans, signature_algorithm;
  int64_t not_before = 0, not_after = 0;
};

OpensslView openssl_view(const fs::path& pem) {
  OpensslView v;
  v.pem = pem;
  auto r = testing::run({"openssl", "x509", "-in", pem.string(), "-noout", "-subject", "-issuer",
                         "-serial", "-fingerprint", "-sha256", "-startdate", "-enddate", "-nameopt",
                         "RFC2253"});
  INFO(pem << ": " << r.err);
  REQUIRE(r.exit_code == 0);
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find('=');
    const auto key = line.substr(0, eq), value = trimmed(line.substr(eq + 1));
    if (key == "subject") v.subject = value;
    if (key == "issuer") v.issuer = value;
    if (key == "serial") v.serial = agent_test::strip_zeros(value);
    if (key == "sha256 Fingerprint" || key == "SHA256 Fingerprint") v.fingerprint = value;
    if (key == "notBefore") v.not_before = labels_openssl_date(value);
    if (key == "notAfter") v.not_after = labels_openssl_date(value);
  }
  std::string fp;
  for (char c : v.fingerprint)
    if (c != ':') fp += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  v.fingerprint = fp;
  REQUIRE(v.fingerprint.size() == 64);

  auto names = testing::run(
      {"openssl", "x509", "-in", pem.string(), "-noout", "-subject", "-nameopt", "multiline"});
  REQUIRE(names.exit_code == 0);
  v.subject_cn = last_multiline(names.out, "commonName");
  auto issuer_names = testing::run(
      {"openssl", "x509", "-in", pem.string(), "-noout", "-issuer", "-nameopt", "multiline"});
  REQUIRE(issuer_names.exit_code == 0);
  v.issuer_cn = last_multiline(issuer_names.out, "commonName");

  // The key in certwatch's words, from openssl's -text ("EC P-256", "RSA 2048", "ED25519").
  auto text = testing::run({"openssl", "x509", "-in", pem.string(), "-noout", "-text"});
  REQUIRE(text.exit_code == 0);
  const auto& t = text.out;
  if (t.find("Public Key Algorithm: rsaEncryption") != std::string::npos) {
    const auto p = t.find("Public-Key: (");
    REQUIRE(p != std::string::npos);
    v.public_key = "RSA " + t.substr(p + 13, t.find(' ', p + 13) - p - 13);
  } else if (t.find("Public Key Algorithm: id-ecPublicKey") != std::string::npos) {
    const auto p = t.find("NIST CURVE: ");
    REQUIRE(p != std::string::npos);
    v.public_key = "EC " + trimmed(t.substr(p + 12, t.find('\n', p) - p - 12));
  } else if (t.find("Public Key Algorithm: ED25519") != std::string::npos) {
    v.public_key = "ED25519";
  }
  // "Signature Algorithm: ecdsa-with-SHA256" (the first one: the certificate's own).
  const auto sig = t.find("Signature Algorithm: ");
  REQUIRE(sig != std::string::npos);
  v.signature_algorithm = trimmed(t.substr(sig + 21, t.find('\n', sig) - sig - 21));

  // "DNS:a, IP Address:127.0.0.1" in the label's spelling ("DNS:a,IP:127.0.0.1").
  auto san =
      testing::run({"openssl", "x509", "-in", pem.string(), "-noout", "-ext", "subjectAltName"});
  REQUIRE(san.exit_code == 0);
  std::istringstream san_lines(san.out);
  std::string line;
  std::getline(san_lines, line);  // the header
  if (std::getline(san_lines, line)) {
    std::string list = trimmed(line);
    for (size_t p; (p = list.find("IP Address:")) != std::string::npos;) list.replace(p, 11, "IP:");
    for (size_t p; (p = list.find(", ")) != std::string::npos;) list.replace(p, 2, ",");
    v.sans = list;
  }
  return v;
}

}  // namespace

TEST_CASE(
    "every certificate label equals openssl's view of the certificate, whichever source "
    "sees it",
    "[integration][labels]") {
  testing::TempDir tmp;
  const auto pki = tmp / "pki", out = tmp / "issued", watched = tmp / "watched";
  const std::string dir = pki.string();
  pki_cli::ok({"pki", "init", "--dir", dir, "--subject", "/C=DE/O=Demo Lab/CN=Demo Root CA"});
  pki_cli::ok({"pki", "ca", "--dir", dir, "--name", "server-ca", "--subject",
               "/O=Demo Lab/CN=Demo Server CA"});
  // A comma in the name (escaped in RFC 2253) and a P-384 key (another signature algorithm).
  pki_cli::ok({"pki", "ca", "--dir", dir, "--name", "device-ca", "--subject",
               "/O=Demo Lab, Inc./CN=Demo Device CA", "--key-type", "ec-p384"});
  struct Leaf {
    std::string ca, name, profile, subject, key_type;
  };
  const std::vector<Leaf> leaves = {
      {"server-ca", "broker", "server", "/O=Demo Lab/CN=broker.lab.local", "ec-p256"},
      {"server-ca", "web", "server", "/CN=web.lab.local", "rsa-2048"},
      {"device-ca", "sensor-1", "client", "/CN=Sensor, One/O=Demo Lab", "ec-p256"},
      {"device-ca", "sensor-2", "client", "/O=Demo Lab/CN=fleet/CN=sensor-2", "ed25519"},
  };
  for (const auto& l : leaves) {
    std::vector<std::string> args{"pki",       "issue",     "--dir",      dir,        "--ca",
                                  l.ca,        "--profile", l.profile,    "--name",   l.name,
                                  "--subject", l.subject,   "--key-type", l.key_type, "--validity",
                                  "90d",       "--out",     out.string()};
    if (l.profile == "server")
      args.insert(args.end(), {"--san", "DNS:" + l.name + ".lab.local", "--san", "IP:127.0.0.1"});
    pki_cli::ok(args);
  }
  fs::create_directories(watched);
  fs::copy_file(out / "sensor-1.cert.pem", watched / "sensor-1.cert.pem");
  fs::copy_file(out / "sensor-1.chain.pem", watched / "sensor-1.chain.pem");

  const testing::CertFiles broker{out / "broker.key.pem", out / "broker.cert.pem", "broker"};
  testing::TlsServer server(tmp.path(), broker, pki / "server-ca" / "certs" / "server-ca.cert.pem");

  const int port = testing::free_port();
  const auto config = tmp / "certwatch.yaml";
  testing::write_file(config,
                      agent_test::agent_config(port, {watched}, pki / "ca-bundle.pem") +
                          "endpoints:\n  - target: \"127.0.0.1:" + std::to_string(server.port) +
                          "\"\n    interval: 60s\n    timeout: 5s\n    expect_file: " +
                          (out / "broker.chain.pem").string() +
                          "\nissuers:\n  - {name: demo, pki_dir: " + dir + ", ca: server-ca}\n");
  agent_test::AgentProcess agent(tmp.path(), config, port);
  REQUIRE(agent.wait_ready());

  // Every certificate the test made, by fingerprint: the leaves and the CAs.
  std::map<std::string, OpensslView> by_fingerprint;
  std::map<std::string, std::string> ca_by_subject;  // CA subject (openssl) -> CA name
  for (const auto& l : leaves) {
    auto v = openssl_view(out / (l.name + ".cert.pem"));
    by_fingerprint[v.fingerprint] = v;
  }
  for (const std::string ca : {"root-ca", "server-ca", "device-ca"}) {
    auto v = openssl_view(pki / ca / "certs" / (ca + ".cert.pem"));
    ca_by_subject[v.subject] = ca;
    by_fingerprint[v.fingerprint] = v;
  }

  // file: sensor-1's cert file (1) and chain file (2); endpoint: broker and server-ca (2);
  // ledger: the four leaves, each once although the directory holds two CAs.
  const auto count = [](const std::string& m, const std::string& source) {
    return agent_test::series(m, "certwatch_cert_info", {"source=\"" + source + "\""}).size();
  };
  std::string m;
  const bool all_seen = testing::eventually(
      [&] {
        m = agent.metrics();
        return count(m, "file") == 3 && count(m, "endpoint") == 2 && count(m, "ledger") == 4;
      },
      std::chrono::seconds(30));
  INFO(m << "\n" << agent.log());
  REQUIRE(all_seen);

  // The fingerprint of every (source, target, index), from the info series.
  std::map<std::tuple<std::string, std::string, std::string>, std::string> fingerprint_at;
  for (const auto& line : agent_test::series(m, "certwatch_cert_info")) {
    const auto l = labels_of(line);
    REQUIRE(l.count("fingerprint_sha256") == 1);
    CHECK(fingerprint_at
              .emplace(std::make_tuple(l.at("source"), l.at("target"), l.at("index")),
                       l.at("fingerprint_sha256"))
              .second);
  }

  std::set<std::string> ledger_names;
  int checked = 0;
  for (const std::string family :
       {"certwatch_cert_not_after_timestamp_seconds", "certwatch_cert_not_before_timestamp_seconds",
        "certwatch_cert_info"}) {
    const auto lines = agent_test::series(m, family);
    CHECK(lines.size() == 9);
    for (const auto& line : lines) {
      INFO(line);
      const auto l = labels_of(line);
      std::string fp = l.count("fingerprint_sha256") ? l.at("fingerprint_sha256")
                       : l.count("fingerprint")      ? l.at("fingerprint")
                                                     : "";
      if (fp.empty()) {
        const auto at = fingerprint_at.find({l.at("source"), l.at("target"), l.at("index")});
        REQUIRE(at != fingerprint_at.end());
        fp = at->second;
      }
      const auto it = by_fingerprint.find(fp);
      REQUIRE(it != by_fingerprint.end());
      const OpensslView& v = it->second;
      INFO("openssl of " << v.pem);
      CHECK(l.at("subject_cn") == v.subject_cn);
      CHECK(l.at("issuer_cn") == v.issuer_cn);
      CHECK(l.at("serial") == v.serial);
      if (family == "certwatch_cert_info") {
        CHECK(l.at("subject") == v.subject);
        CHECK(l.at("issuer") == v.issuer);
        CHECK(l.at("fingerprint_sha256") == v.fingerprint);
        CHECK(l.at("public_key") == v.public_key);
        CHECK(l.at("signature_algorithm") == v.signature_algorithm);
        CHECK(l.at("sans") == v.sans);
        CHECK(agent_test::value_of(line) == 1);
      } else {
        const int64_t want =
            family == "certwatch_cert_not_after_timestamp_seconds" ? v.not_after : v.not_before;
        CHECK(static_cast<int64_t>(agent_test::value_of(line)) == want);
      }
      if (l.at("source") == "ledger") {
        // Named after the CA that issued it: the CA whose subject is the certificate's issuer.
        const auto ca = ca_by_subject.find(v.issuer);
        REQUIRE(ca != ca_by_subject.end());
        CHECK(l.at("target").rfind(ca->second + "/", 0) == 0);
        ledger_names.insert(l.at("target"));
      }
      ++checked;
    }
  }
  CHECK(checked == 27);
  CHECK(ledger_names.size() == 4);
}
