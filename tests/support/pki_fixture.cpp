#include "support/pki_fixture.h"

#include <random>
#include <stdexcept>

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
                             "-set_serial", random_serial(), "-out", out.cert.string()});
    if (!o.v1) argv.insert(argv.end(), {"-extensions", "ext"});
    must_run(argv);
  } else {
    const fs::path csr = dir_ / (name + ".csr");
    must_run({"openssl", "req", "-new", "-config", cnf.string(), "-key", out.key.string(),
              "-out", csr.string()});
    argv.insert(argv.end(), {"openssl", "x509", "-req", "-in", csr.string(), "-CA",
                             parent->cert.string(), "-CAkey", parent->key.string(), "-days",
                             std::to_string(o.days), "-" + o.digest, "-set_serial",
                             random_serial(), "-out", out.cert.string()});
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

bool openssl_verifies(const fs::path& bundle, const fs::path& chain, std::optional<int64_t> now) {
  std::vector<std::string> argv{"openssl", "verify", "-CAfile", bundle.string(), "-untrusted",
                                chain.string()};
  if (now) argv.insert(argv.end(), {"-attime", std::to_string(*now)});
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

DeepChain make_deep_chain(PkiFixture& f, const std::string& prefix) {
  DeepChain d;
  d.root = f.root(prefix + "-root", CertOptions::of(prefix + " Root CA").with_days(3650));
  d.int1 = f.ca(prefix + "-int1", d.root, CertOptions::of(prefix + " Intermediate 1").with_days(1825), 1);
  d.int2 = f.ca(prefix + "-int2", d.int1, CertOptions::of(prefix + " Intermediate 2").with_days(1000), 0);
  d.leaf = f.server(prefix + "-leaf", d.int2, CertOptions::of("mqtt.lab.local"));
  d.bundle = f.cat(prefix + "-bundle.pem", {d.root.cert});
  return d;
}

}  // namespace testing
