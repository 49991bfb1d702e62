// Builds small PKIs at test time with the openssl CLI, in the shapes of the seeds (000: one
// root signing leaves directly, 001: root -> server CA -> leaf with a chain file, 002: RSA
// root with an encrypted key and separate server/client CAs) and their broken variants.
// EC P-256 keys unless RSA is asked for, so that generation stays fast. Certificates with a
// past notBefore are made under `faketime`. Nothing here is checked in.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "pki/x509/certificate.h"
#include "pki/judge/judge.h"

namespace testing {

namespace fs = std::filesystem;

enum class KeyAlg { ec_p256, rsa_2048, rsa_1024 };

struct CertFiles {
  fs::path key;
  fs::path cert;
  std::string cn;
};

struct CertOptions {
  std::string cn;                      // subject CN (the subject is "/O=certwatch test/CN=cn")
  KeyAlg alg = KeyAlg::ec_p256;
  int days = 365;
  std::optional<int64_t> not_before;   // POSIX seconds; the cert is signed under faketime
  std::optional<std::string> ext;      // extension lines; replaces the profile's defaults
  std::vector<std::string> extra_ext;  // lines added to the profile's defaults
  std::string digest = "sha256";
  std::optional<fs::path> reuse_key;   // sign this existing key instead of generating one
  bool v1 = false;                     // no extensions at all (x509 -req without -extfile)
  std::optional<std::string> serial;   // e.g. "0x01"; default: 16 random bytes

  // Fluent construction (designated initializers trip -Wmissing-field-initializers on GCC 12):
  //   CertOptions::of("mqtt.lab.local").with_days(30).with_alg(KeyAlg::rsa_2048)
  static CertOptions of(std::string cn) {
    CertOptions o;
    o.cn = std::move(cn);
    return o;
  }
  CertOptions& with_alg(KeyAlg a) { alg = a; return *this; }
  CertOptions& with_days(int d) { days = d; return *this; }
  CertOptions& with_not_before(int64_t t) { not_before = t; return *this; }
  CertOptions& with_ext(std::string e) { ext = std::move(e); return *this; }
  CertOptions& with_extra(std::string line) { extra_ext.push_back(std::move(line)); return *this; }
  CertOptions& with_digest(std::string d) { digest = std::move(d); return *this; }
  CertOptions& with_key(fs::path k) { reuse_key = std::move(k); return *this; }
  CertOptions& as_v1() { v1 = true; return *this; }
  CertOptions& with_serial(std::string s) { serial = std::move(s); return *this; }
};

class PkiFixture {
 public:
  explicit PkiFixture(fs::path dir);
  const fs::path& dir() const { return dir_; }

  // Self-signed CA: CA:TRUE critical, keyCertSign+cRLSign, SKI.
  CertFiles root(const std::string& name, CertOptions o);
  // Intermediate CA under `parent`: as root plus AKI, pathlen if given.
  CertFiles ca(const std::string& name, const CertFiles& parent, CertOptions o,
               std::optional<int> path_len = 0);
  // TLS server leaf: CA:FALSE, digitalSignature (+keyEncipherment for RSA), serverAuth,
  // SAN DNS:<cn> unless ext overrides.
  CertFiles server(const std::string& name, const CertFiles& parent, CertOptions o);
  // TLS client leaf: as server but clientAuth.
  CertFiles client(const std::string& name, const CertFiles& parent, CertOptions o);

  // Concatenates files (PEM) into dir/name.
  fs::path cat(const std::string& name, const std::vector<fs::path>& parts);
  // Writes text to dir/name.
  fs::path write(const std::string& name, const std::string& text);
  // Fresh key alone (for mismatches), and the key encrypted with a passphrase (PKCS#8).
  fs::path key(const std::string& name, KeyAlg alg = KeyAlg::ec_p256);
  fs::path encrypt_key(const fs::path& key, const std::string& name, const std::string& pass,
                       bool traditional = false);
  // DER and PKCS#7 conversions of PEM certificates.
  fs::path to_der(const fs::path& cert_pem, const std::string& name);
  fs::path to_p7b(const std::vector<fs::path>& certs, const std::string& name, bool der);

 private:
  CertFiles issue(const std::string& name, const CertFiles* parent, const CertOptions& o,
                  const std::string& default_ext);
  fs::path dir_;
};

// Throws std::runtime_error with stderr when an openssl step fails (tests then fail loudly).
void must_run(const std::vector<std::string>& argv);

// The oracle: `openssl verify -CAfile bundle -untrusted chain chain` succeeded. `now` (POSIX
// seconds, optional) runs it with -attime.
// `purpose` ("sslserver", "sslclient") adds -purpose, as the judge verifies with --purpose.
bool openssl_verifies(const fs::path& bundle, const fs::path& chain,
                      std::optional<int64_t> now = std::nullopt, const std::string& purpose = {});

// Every certificate of a PEM/DER file (throws if it does not load).
std::vector<certwatch::pki::Certificate> load_certs(const fs::path& p);

// The first finding with `id` in a report, or nullptr; and a readable dump for INFO().
const certwatch::pki::Finding* find_finding(const certwatch::pki::Report& r, const std::string& id);
inline bool has_finding(const certwatch::pki::Report& r, const std::string& id) { return find_finding(r, id) != nullptr; }
std::string describe(const certwatch::pki::Report& r);

// Standard shapes -----------------------------------------------------------------------------

// Seed 000: root "Lab ECC Root CA" signing a server and a client leaf directly; the leaves
// are X.509 v1 without SAN, exactly as the seed's `openssl x509 -req` makes them.
struct Seed000 {
  CertFiles root, server, client;
};
Seed000 make_seed000(PkiFixture& f);

// Seed 001: root-ca/{private,certs}, server-ca/{private,certs}, mqtt-server-1/{private,certs}
// with mqtt-server.chain.pem (leaf, server CA) and ca-bundle.pem (root only).
struct Seed001 {
  CertFiles root, server_ca, leaf;
  fs::path chain, bundle;
};
Seed001 make_seed001(PkiFixture& f);

// Seed 002 (Chariot): an RSA root whose key is encrypted (genrsa -des3 in the seed; AES here),
// a server CA and a client (engine) CA under it, a server leaf and an engine client leaf.
// Layout: ca/ca.{key,cert}.pem, ca/<x>/<x>-ca.*, certs/<x>/<x>.*.
struct Seed002 {
  CertFiles root, server_ca, engine_ca, server, engine;
};
Seed002 make_seed002(PkiFixture& f, const std::string& passphrase = "chariot");

// A deeper chain for order tests: root -> int1 -> int2 -> leaf ("mqtt.lab.local"), with
// bundle.pem holding the root.
struct DeepChain {
  CertFiles root, int1, int2, leaf;
  fs::path bundle;
};
DeepChain make_deep_chain(PkiFixture& f, const std::string& prefix = "deep");

// The acceptance fixtures of issue #2: one broken variant per case, with what `certwatch
// check` must say about it. Built once per test case (about a second of openssl runs).
struct Scenario {
  Scenario(std::string n, fs::path f, fs::path b)
      : name(std::move(n)), file(std::move(f)), bundle(std::move(b)) {}
  std::string name;
  fs::path file;
  fs::path bundle;
  std::optional<fs::path> key;
  std::optional<std::string> host;
  std::optional<std::string> purpose;  // "server" | "client"
  std::vector<std::string> expect;     // finding ids that must be reported
  std::vector<std::string> absent;     // finding ids that must not be reported
  int exit_code = 0;                   // DESIGN.md's Nagios code
  bool fixable = false;                // --fix-order output must pass with no chain finding
};
std::vector<Scenario> make_scenarios(PkiFixture& f);

}  // namespace testing
