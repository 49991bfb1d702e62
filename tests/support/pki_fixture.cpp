#include "support/pki_fixture.h"

#include <algorithm>
#include <ctime>
#include <random>
#include <stdexcept>

#include "pki/load/load.h"

#include "support/fixtures.h"

namespace testing {
namespace {

std::string random_serial() {
  std::random_device rd;
  static constexpr char d[] = "0123456789abcdef";
  std::string s = "0x";
  s.push_back(d[1 + rd() % 7]);  // positive, 16 bytes, no leading zero
  for (int i = 0; i < 31; ++i) s.push_back(d[rd() % 16]);
  return s;
}

std::vector<std::string> keygen_argv(KeyAlg alg, const fs::path& out) {
  switch (alg) {
    case KeyAlg::rsa_2048:
      return {"openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
              "-out", out.string()};
    case KeyAlg::rsa_1024:
      return {"openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024",
              "-out", out.string()};
    case KeyAlg::ec_p256: break;
  }
  return {"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
          "-out", out.string()};
}

std::string leaf_ext(const CertOptions& o, const std::string& eku) {
  std::string ext = "basicConstraints = CA:FALSE\n";
  ext += o.alg == KeyAlg::ec_p256 ? "keyUsage = critical, digitalSignature\n"
                                  : "keyUsage = critical, digitalSignature, keyEncipherment\n";
  ext += "extendedKeyUsage = " + eku + "\n";
  ext += "subjectAltName = DNS:" + o.cn + "\n";
  ext += "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n";
  return ext;
}

}  // namespace

void must_run(const std::vector<std::string>& argv) {
  RunResult r = run(argv, std::chrono::seconds(60));
  if (r.exit_code != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += a + " ";
    throw std::runtime_error("fixture step failed: " + cmd + "\n" + r.err);
  }
}

PkiFixture::PkiFixture(fs::path dir) : dir_(std::move(dir)) { fs::create_directories(dir_); }

fs::path PkiFixture::key(const std::string& name, KeyAlg alg) {
  fs::path p = dir_ / name;
  fs::create_directories(p.parent_path());
  must_run(keygen_argv(alg, p));
  // Keys as a careful operator leaves them; tests that want key.permissions widen them.
  fs::permissions(p, fs::perms::owner_read | fs::perms::owner_write);
  return p;
}

CertFiles PkiFixture::issue(const std::string& name, const CertFiles* parent,
                            const CertOptions& o, const std::string& default_ext) {
  CertFiles out;
  out.cn = o.cn;
  out.key = o.reuse_key ? *o.reuse_key : key(name + ".key.pem", o.alg);
  out.cert = dir_ / (name + ".cert.pem");
  fs::create_directories(out.cert.parent_path());
  std::string ext = o.ext ? *o.ext : default_ext;
  for (const auto& line : o.extra_ext) ext += line + "\n";
  const fs::path cnf = dir_ / (name + ".cnf");
  write_file(cnf, "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nO = certwatch test\nCN = " +
                      o.cn + "\n[ext]\n" + ext);
  std::vector<std::string> prefix;
  if (o.not_before) prefix = {"faketime", "@" + std::to_string(*o.not_before)};
  std::vector<std::string> argv = prefix;
  if (parent == nullptr) {
    argv.insert(argv.end(), {"openssl", "req", "-new", "-x509", "-config", cnf.string(), "-key",
                             out.key.string(), "-days", std::to_string(o.days), "-" + o.digest,
                             "-set_serial", o.serial.value_or(random_serial()), "-out", out.cert.string()});
    if (!o.v1) argv.insert(argv.end(), {"-extensions", "ext"});
    must_run(argv);
  } else {
    const fs::path csr = dir_ / (name + ".csr");
    must_run({"openssl", "req", "-new", "-config", cnf.string(), "-key", out.key.string(),
              "-out", csr.string()});
    argv.insert(argv.end(), {"openssl", "x509", "-req", "-in", csr.string(), "-CA",
                             parent->cert.string(), "-CAkey", parent->key.string(), "-days",
                             std::to_string(o.days), "-" + o.digest, "-set_serial",
                             o.serial.value_or(random_serial()), "-out", out.cert.string()});
    if (!o.v1) argv.insert(argv.end(), {"-extfile", cnf.string(), "-extensions", "ext"});
    must_run(argv);
  }
  return out;
}

CertFiles PkiFixture::root(const std::string& name, CertOptions o) {
  return issue(name, nullptr, o,
               "basicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\n"
               "subjectKeyIdentifier = hash\n");
}

CertFiles PkiFixture::ca(const std::string& name, const CertFiles& parent, CertOptions o,
                         std::optional<int> path_len) {
  std::string bc = "basicConstraints = critical, CA:TRUE";
  if (path_len) bc += ", pathlen:" + std::to_string(*path_len);
  return issue(name, &parent, o,
               bc + "\nkeyUsage = critical, keyCertSign, cRLSign\n"
                    "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n");
}

CertFiles PkiFixture::server(const std::string& name, const CertFiles& parent, CertOptions o) {
  return issue(name, &parent, o, leaf_ext(o, "serverAuth"));
}

CertFiles PkiFixture::client(const std::string& name, const CertFiles& parent, CertOptions o) {
  return issue(name, &parent, o, leaf_ext(o, "clientAuth"));
}

fs::path PkiFixture::cat(const std::string& name, const std::vector<fs::path>& parts) {
  std::string all;
  for (const auto& p : parts) all += read_file(p);
  return write(name, all);
}

fs::path PkiFixture::write(const std::string& name, const std::string& text) {
  fs::path p = dir_ / name;
  fs::create_directories(p.parent_path());
  write_file(p, text);
  return p;
}

fs::path PkiFixture::encrypt_key(const fs::path& key, const std::string& name,
                                 const std::string& pass, bool traditional) {
  fs::path p = dir_ / name;
  std::vector<std::string> argv{"openssl", "pkey", "-in", key.string(), "-aes256", "-passout",
                                "pass:" + pass, "-out", p.string()};
  if (traditional) argv.push_back("-traditional");
  must_run(argv);
  return p;
}

fs::path PkiFixture::to_der(const fs::path& cert_pem, const std::string& name) {
  fs::path p = dir_ / name;
  must_run({"openssl", "x509", "-in", cert_pem.string(), "-outform", "DER", "-out", p.string()});
  return p;
}

fs::path PkiFixture::to_p7b(const std::vector<fs::path>& certs, const std::string& name, bool der) {
  fs::path p = dir_ / name;
  std::vector<std::string> argv{"openssl", "crl2pkcs7", "-nocrl", "-out", p.string(), "-outform",
                                der ? "DER" : "PEM"};
  for (const auto& c : certs) argv.insert(argv.end(), {"-certfile", c.string()});
  must_run(argv);
  return p;
}

bool openssl_verifies(const fs::path& bundle, const fs::path& chain, std::optional<int64_t> now,
                      const std::string& purpose) {
  std::vector<std::string> argv{"openssl", "verify", "-CAfile", bundle.string(), "-untrusted",
                                chain.string()};
  if (now) argv.insert(argv.end(), {"-attime", std::to_string(*now)});
  if (!purpose.empty()) argv.insert(argv.end(), {"-purpose", purpose});
  argv.push_back(chain.string());
  return run(argv, std::chrono::seconds(30)).exit_code == 0;
}

Seed000 make_seed000(PkiFixture& f) {
  Seed000 s;
  s.root = f.root("ca", CertOptions::of("Lab ECC Root CA").with_days(3650));
  s.server = f.server("server", s.root, CertOptions::of("mqtt.lab.local").as_v1());
  s.client = f.client("whatwatt", s.root, CertOptions::of("whatwatt-001").as_v1());
  return s;
}

Seed001 make_seed001(PkiFixture& f) {
  Seed001 s;
  s.root = f.root("root-ca/x", CertOptions::of("My IoT Cloud Root CA").with_days(3650));
  s.server_ca = f.ca("server-ca/x", s.root, CertOptions::of("IoT Cloud (MQTT) Server CA").with_days(1825), 0);
  s.leaf = f.server("mqtt-server-1/x", s.server_ca, CertOptions::of("mqtt.my-iot-cloud.com"));
  // Seed 001's layout: D/private/D.key.pem, D/certs/D.cert.pem.
  auto place = [&](CertFiles& c, const std::string& d, const std::string& stem) {
    fs::create_directories(f.dir() / d / "private");
    fs::create_directories(f.dir() / d / "certs");
    fs::path key = f.dir() / d / "private" / (stem + ".key.pem");
    fs::path cert = f.dir() / d / "certs" / (stem + ".cert.pem");
    fs::rename(c.key, key);
    fs::rename(c.cert, cert);
    fs::remove(f.dir() / d / "x.cnf");
    fs::remove(f.dir() / d / "x.csr");
    fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write);
    c.key = key;
    c.cert = cert;
  };
  place(s.root, "root-ca", "root-ca");
  place(s.server_ca, "server-ca", "server-ca");
  place(s.leaf, "mqtt-server-1", "mqtt-server");
  s.chain = f.cat("mqtt-server-1/mqtt-server.chain.pem", {s.leaf.cert, s.server_ca.cert});
  s.bundle = f.cat("ca-bundle.pem", {s.root.cert});
  return s;
}

Seed002 make_seed002(PkiFixture& f, const std::string& passphrase) {
  Seed002 s;
  s.root = f.root("ca/ca", CertOptions::of("Chariot Root CA").with_alg(KeyAlg::rsa_2048).with_days(3650));
  s.server_ca = f.ca("ca/server/server-ca", s.root, CertOptions::of("Chariot Server CA").with_days(1825), 0);
  s.engine_ca = f.ca("ca/engine/engine-ca", s.root, CertOptions::of("MQTT Engine CA").with_days(1825), 0);
  s.server = f.server("certs/server/server", s.server_ca, CertOptions::of("chariot.lab.local"));
  s.engine = f.client("certs/engine/engine", s.engine_ca, CertOptions::of("mqtt-engine"));
  // The root key encrypted in place, as the seed keeps it.
  const fs::path enc = f.encrypt_key(s.root.key, "ca/ca.enc.tmp", passphrase, true);
  fs::rename(enc, s.root.key);
  fs::permissions(s.root.key, fs::perms::owner_read | fs::perms::owner_write);
  return s;
}

DeepChain make_deep_chain(PkiFixture& f, const std::string& prefix) {
  DeepChain d;
  d.root = f.root(prefix + "-root", CertOptions::of(prefix + " Root CA").with_days(3650));
  d.int1 = f.ca(prefix + "-int1", d.root, CertOptions::of(prefix + " Intermediate 1").with_days(1825), 1);
  d.int2 = f.ca(prefix + "-int2", d.int1, CertOptions::of(prefix + " Intermediate 2").with_days(1000), 0);
  d.leaf = f.server(prefix + "-leaf", d.int2, CertOptions::of("mqtt.lab.local"));
  d.bundle = f.cat(prefix + "-bundle.pem", {d.root.cert});
  return d;
}

std::vector<certwatch::pki::Certificate> load_certs(const fs::path& p) {
  auto r = certwatch::pki::load_bytes(read_file(p), p.string());
  if (!r) throw std::runtime_error(r.error().message);
  return r->certs;
}

const certwatch::pki::Finding* find_finding(const certwatch::pki::Report& r, const std::string& id) {
  for (const auto& f : r.findings)
    if (f.id == id) return &f;
  return nullptr;
}

std::string describe(const certwatch::pki::Report& r) {
  std::string s = r.target + (r.trusted ? " trusted" : " untrusted") + "\n";
  for (const auto& f : r.findings)
    s += "  " + std::string(certwatch::pki::to_string(f.severity)) + " " + f.id + " " + f.target + ": " + f.message + "\n";
  return s;
}

std::vector<Scenario> make_scenarios(PkiFixture& f) {
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  const std::string host = "mqtt.lab.local";
  auto root = f.root("root", CertOptions::of("Scenario Root CA").with_days(3650));
  auto ca = f.ca("server-ca", root, CertOptions::of("Scenario Server CA").with_days(1825), 0);
  auto leaf = f.server("leaf", ca, CertOptions::of(host));
  auto other_root = f.root("other-root", CertOptions::of("Other Root CA").with_days(3650));
  auto stranger = f.server("stranger", other_root, CertOptions::of("stranger.example"));
  auto deep = make_deep_chain(f, "deep");
  const fs::path bundle = f.cat("bundle.pem", {root.cert});
  const fs::path other_bundle = f.cat("other-bundle.pem", {other_root.cert});

  const std::vector<std::string> chain_ids{
      "chain.leaf_not_first", "chain.order",    "chain.incomplete", "chain.untrusted",
      "chain.contains_root",  "chain.duplicate", "chain.extra",     "chain.ambiguous_issuer",
      "chain.too_large",      "chain.verify_failed"};
  auto all_but = [&](std::vector<std::string> keep) {
    std::vector<std::string> out;
    for (const auto& id : chain_ids)
      if (std::find(keep.begin(), keep.end(), id) == keep.end()) out.push_back(id);
    return out;
  };

  std::vector<Scenario> s;
  auto add = [&](Scenario sc) { s.push_back(std::move(sc)); };
  Scenario good{"good chain", f.cat("good.pem", {leaf.cert, ca.cert}), bundle};
  good.key = leaf.key;
  good.host = host;
  good.purpose = "server";
  good.absent = all_but({});
  for (const char* id : {"key.mismatch", "key.encrypted", "key.permissions", "leaf.no_san",
                         "leaf.hostname_mismatch", "leaf.purpose_mismatch", "cert.expired",
                         "cert.expires_soon"})
    good.absent.push_back(id);
  good.fixable = true;
  add(good);

  Scenario lnf{"leaf not first", f.cat("leaf-not-first.pem", {ca.cert, leaf.cert}), bundle};
  lnf.key = leaf.key;
  lnf.expect = {"chain.leaf_not_first"};
  lnf.absent = all_but({"chain.leaf_not_first"});
  lnf.absent.push_back("key.mismatch");
  lnf.exit_code = 2;
  lnf.fixable = true;
  add(lnf);

  // A chain-shape case: exactly one chain finding expected.
  auto chain_case = [&](std::string name, const std::string& file, std::vector<fs::path> parts,
                        const fs::path& anchors, const std::string& id, int exit_code, bool fixable) {
    Scenario sc{std::move(name), f.cat(file, parts), anchors};
    sc.expect = {id};
    sc.absent = all_but({id});
    sc.exit_code = exit_code;
    sc.fixable = fixable;
    add(sc);
  };
  chain_case("intermediates reversed", "reversed.pem", {deep.leaf.cert, deep.int1.cert, deep.int2.cert},
             deep.bundle, "chain.order", 2, true);
  chain_case("missing intermediate", "missing.pem", {leaf.cert}, bundle, "chain.incomplete", 2, false);
  chain_case("root included", "with-root.pem", {leaf.cert, ca.cert, root.cert}, bundle,
             "chain.contains_root", 0, true);
  chain_case("duplicate", "duplicate.pem", {leaf.cert, ca.cert, ca.cert}, bundle, "chain.duplicate", 1,
             true);
  chain_case("unrelated extra", "extra.pem", {leaf.cert, ca.cert, stranger.cert}, bundle, "chain.extra",
             1, true);

  Scenario wrong{"wrong trust anchor", f.cat("wrong-anchor.pem", {leaf.cert, ca.cert, root.cert}),
                 other_bundle};
  wrong.expect = {"chain.untrusted"};
  wrong.absent = {"chain.incomplete", "chain.order", "chain.leaf_not_first"};
  wrong.exit_code = 2;
  add(wrong);

  // Issued 400 days ago for 30 days (faketime), so expired for 370 days.
  auto old = f.server("expired", ca, CertOptions::of(host).with_days(30).with_not_before(now - 400 * 86400));
  Scenario expired{"expired", f.cat("expired.pem", {old.cert, ca.cert}), bundle};
  expired.expect = {"cert.expired"};
  expired.absent = {"chain.verify_failed", "chain.incomplete"};
  expired.exit_code = 2;
  add(expired);

  // 90-day certificates: 20 days left is a warning (< 30d), 5 days left is critical (< 7d).
  auto soon_w = f.server("soon-warning", ca, CertOptions::of(host).with_days(90).with_not_before(now - 70 * 86400));
  Scenario warn{"expiring (warning)", f.cat("soon-warning.pem", {soon_w.cert, ca.cert}), bundle};
  warn.expect = {"cert.expires_soon"};
  warn.absent = {"cert.expired"};
  warn.exit_code = 1;
  warn.fixable = true;
  add(warn);
  auto soon_c = f.server("soon-critical", ca, CertOptions::of(host).with_days(90).with_not_before(now - 85 * 86400));
  Scenario crit{"expiring (critical)", f.cat("soon-critical.pem", {soon_c.cert, ca.cert}), bundle};
  crit.expect = {"cert.expires_soon"};
  crit.absent = {"cert.expired"};
  crit.exit_code = 2;
  add(crit);

  Scenario mismatch{"key mismatch", good.file, bundle};
  mismatch.key = f.key("wrong.key.pem");
  mismatch.expect = {"key.mismatch"};
  mismatch.absent = {"chain.leaf_not_first", "key.encrypted"};
  mismatch.exit_code = 2;
  add(mismatch);

  Scenario enc{"encrypted key", good.file, bundle};
  enc.key = f.encrypt_key(leaf.key, "leaf-encrypted.key.pem", "secret");
  fs::permissions(*enc.key, fs::perms::owner_read | fs::perms::owner_write);
  enc.expect = {"key.encrypted"};
  enc.absent = {"key.mismatch"};
  enc.exit_code = 0;
  add(enc);

  auto rsa = f.server("rsa-no-ke", ca,
                      CertOptions::of(host).with_alg(KeyAlg::rsa_2048).with_ext(
                          "basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\n"
                          "extendedKeyUsage = serverAuth\nsubjectAltName = DNS:" + host +
                          "\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n"));
  Scenario rsa_ke{"RSA leaf without keyEncipherment", f.cat("rsa-no-ke.pem", {rsa.cert, ca.cert}), bundle};
  rsa_ke.expect = {"leaf.rsa_no_key_encipherment"};
  rsa_ke.exit_code = 1;
  add(rsa_ke);

  auto nosan = f.server("no-san", ca,
                        CertOptions::of(host).with_ext(
                            "basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\n"
                            "extendedKeyUsage = serverAuth\nsubjectKeyIdentifier = hash\n"
                            "authorityKeyIdentifier = keyid\n"));
  Scenario no_san{"leaf without SAN", f.cat("no-san.pem", {nosan.cert, ca.cert}), bundle};
  no_san.expect = {"leaf.no_san"};
  no_san.exit_code = 1;
  add(no_san);

  Scenario wrong_host{"wrong hostname", good.file, bundle};
  wrong_host.host = "broker.example.org";
  wrong_host.expect = {"leaf.hostname_mismatch"};
  wrong_host.exit_code = 2;
  add(wrong_host);

  auto client = f.client("client", ca, CertOptions::of("device-001"));
  Scenario as_server{"client cert used as server cert", f.cat("client.pem", {client.cert, ca.cert}), bundle};
  as_server.purpose = "server";
  as_server.expect = {"leaf.purpose_mismatch"};
  as_server.exit_code = 2;
  add(as_server);

  Scenario malformed{"malformed PEM",
                     f.write("malformed.pem", "-----BEGIN CERTIFICATE-----\nMIIBnotbase64!!\n"
                                              "-----END CERTIFICATE-----\n"),
                     bundle};
  malformed.expect = {"input.malformed"};
  malformed.exit_code = 3;
  add(malformed);

  Scenario empty{"empty file", f.write("empty.pem", ""), bundle};
  empty.expect = {"input.no_certificates"};
  empty.exit_code = 3;
  add(empty);

  // Seed shapes as they are: seed 000's v1 leaf without SAN; seed 001's chain.
  Seed000 s0 = make_seed000(f);
  Scenario seed0{"seed 000 server", s0.server.cert, s0.root.cert};
  seed0.expect = {"cert.v1", "leaf.no_san"};
  seed0.absent = all_but({});
  seed0.exit_code = 1;
  add(seed0);
  return s;
}

}  // namespace testing
