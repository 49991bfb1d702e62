// bench/issue_throughput: issuing EC P-256 server leaves with fresh keys through the built-in
// issuer (certwatch::pki::Issuer: ledger on, key/cert/chain written atomically with fsync), against the
// seed 001 `openssl` command sequence for the same certificates, and against OpenSSL's raw
// keygen + sign ceiling (the same extensions, nothing written) measured in the same run.
// Issue #3, acceptance 5. With a PKCS#11 module (SoftHSM2 by default, when installed), the same
// leaves are also issued by a second intermediate whose EC P-256 key lives in a token made for
// the run (issue #26, acceptance 2): in-process and one CLI process per certificate, beside the
// file-held key.
//
//   build/bench/issue_throughput [--count 1000] [--openssl-count 100] [--dir DIR]
//                                [--pkcs11-module PATH|none]
//
// The openssl sequence spawns processes per certificate, so it runs --openssl-count times and
// its rate is reported per certificate (scaling to --count is linear). `certwatch pki issue`
// as one process per certificate is measured the same way, for the CLI's own cost.
#include <cstring>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "pki/issue/issuer.h"
#include "pki/sign/pkcs11_uri.h"

namespace fs = std::filesystem;

namespace {

struct Args {
  int count = 1000;
  int openssl_count = 100;
  fs::path dir;
  std::string module = "/usr/lib/softhsm/libsofthsm2.so";
};

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (i + 1 >= argc) bench::die("missing value for " + k);
    const std::string v = argv[++i];
    if (k == "--count") a.count = std::stoi(v);
    else if (k == "--openssl-count") a.openssl_count = std::stoi(v);
    else if (k == "--dir") a.dir = v;
    else if (k == "--pkcs11-module") a.module = v == "none" ? "" : v;
    else bench::die("unknown option " + k);
  }
  if (a.dir.empty()) {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base != nullptr ? base : "/tmp") + "/issue-bench-XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) bench::die("mkdtemp failed");
    a.dir = templ;
  }
  return a;
}

template <class T>
T must(certwatch::Result<T> r, const char* what) {
  if (!r) bench::die(std::string(what) + ": " + r.error().message);
  return std::move(r).value();
}

certwatch::pki::UniquePtr<X509> read_cert(const fs::path& p) {
  certwatch::pki::UniquePtr<BIO> bio(BIO_new_file(p.c_str(), "r"));
  certwatch::pki::UniquePtr<X509> x(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!x) bench::die("cannot read " + p.string());
  return x;
}

certwatch::pki::UniquePtr<EVP_PKEY> read_key(const fs::path& p) {
  certwatch::pki::UniquePtr<BIO> bio(BIO_new_file(p.c_str(), "r"));
  certwatch::pki::UniquePtr<EVP_PKEY> k(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!k) bench::die("cannot read " + p.string());
  return k;
}

// Seed 001 sections 4 and 5 (with the section 10 extension file, EC key), once per leaf.
std::string openssl_script(const fs::path& pki, const fs::path& out, int n) {
  const std::string ca_cert = (pki / "server-ca" / "certs" / "server-ca.cert.pem").string();
  const std::string ca_key = (pki / "server-ca" / "private" / "server-ca.key.pem").string();
  std::string s = "set -e; cd " + out.string() + "\n";
  s += "i=0; while [ $i -lt " + std::to_string(n) + " ]; do i=$((i+1)); h=leaf-$i.bench.local\n";
  s += "mkdir -p s$i/private s$i/certs s$i/csr\n";
  s += "printf '[ req ]\\nprompt = no\\ndefault_md = sha256\\ndistinguished_name = dn\\nreq_extensions = req_ext\\n"
       "[ dn ]\\nCN = %s\\n[ req_ext ]\\nsubjectAltName = DNS:%s\\n' $h $h > s$i/csr.conf\n";
  s += "printf 'basicConstraints = CA:FALSE\\nkeyUsage = critical, digitalSignature\\nextendedKeyUsage = serverAuth\\n"
       "subjectKeyIdentifier = hash\\nauthorityKeyIdentifier = keyid\\nsubjectAltName = DNS:%s\\n' $h > s$i/sign.conf\n";
  s += "openssl ecparam -out s$i/private/server.key.pem -name secp256r1 -genkey\n";
  s += "chmod 400 s$i/private/server.key.pem\n";
  s += "openssl req -new -key s$i/private/server.key.pem -out s$i/csr/server.csr.pem -config s$i/csr.conf\n";
  s += "openssl x509 -req -in s$i/csr/server.csr.pem -CA " + ca_cert + " -CAkey " + ca_key +
       " -CAcreateserial -out s$i/certs/server.cert.pem -days 365 -sha256 -extfile s$i/sign.conf 2>/dev/null\n";
  s += "cat s$i/certs/server.cert.pem " + ca_cert + " > s$i/server.chain.pem\n";
  s += "done\n";
  return s;
}

// A SoftHSM2 token of the run's own under `dir` (SOFTHSM2_CONF is set for this process and the
// CLI children), with an EC P-256 key labelled server-ca-token made by pkcs11-tool.
bool make_token(const fs::path& dir, const std::string& module) {
  fs::create_directories(dir / "tokens");
  const fs::path conf = dir / "softhsm2.conf";
  FILE* f = std::fopen(conf.c_str(), "w");
  if (f == nullptr) return false;
  std::fprintf(f, "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n",
               (dir / "tokens").c_str());
  std::fclose(f);
  ::setenv("SOFTHSM2_CONF", conf.c_str(), 1);
  f = std::fopen((dir / "pin").c_str(), "w");
  if (f == nullptr) return false;
  std::fputs("1234\n", f);
  std::fclose(f);
  if (bench::run_child({"softhsm2-util", "--init-token", "--free", "--label", "bench", "--pin", "1234", "--so-pin",
                        "5678"})
          .exit_code != 0)
    return false;
  return bench::run_child({"pkcs11-tool", "--module", module, "--token-label", "bench", "--login", "--pin", "1234",
                           "--keypairgen", "--key-type", "EC:prime256v1", "--label", "server-ca-token", "--id", "01"})
             .exit_code == 0;
}

double issue_in_process(certwatch::pki::Issuer& issuer, const std::string& ca, const std::string& stem, int count,
                        const fs::path& out, int64_t now, const std::optional<certwatch::pki::Passphrase>& pin) {
  const double t0 = bench::now_seconds();
  for (int i = 0; i < count; ++i) {
    certwatch::pki::IssueRequest rq;
    rq.ca = ca;
    rq.name = stem + std::to_string(i);
    rq.subject = "/CN=" + rq.name + ".bench.local";
    rq.sans = {"DNS:" + rq.name + ".bench.local"};
    rq.out_dir = out;
    rq.ca_passphrase = pin;
    rq.now = now;
    must(issuer.issue(rq), "issue");
  }
  return bench::now_seconds() - t0;
}

double issue_by_cli(const fs::path& pki_dir, const std::string& ca, const std::string& stem, int count,
                    const fs::path& out, const std::vector<std::string>& extra) {
  double total = 0;
  for (int i = 0; i < count; ++i) {
    const std::string n = stem + std::to_string(i);
    std::vector<std::string> argv = {CERTWATCH_BIN, "pki",    "issue",     "--dir",
                                     pki_dir.string(), "--ca", ca,          "--profile",
                                     "server",      "--name", n,           "--subject",
                                     "/CN=" + n + ".bench.local", "--san", "DNS:" + n + ".bench.local",
                                     "--out",       out.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto u = bench::run_child(argv);
    if (u.exit_code != 0) bench::die("certwatch pki issue failed");
    total += u.wall;
  }
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse_args(argc, argv);
  const fs::path pki_dir = args.dir / "pki";
  const int64_t now = std::time(nullptr);
  std::printf("issue_throughput: %d leaves in-process, %d via openssl and certwatch CLI; dir %s\n", args.count,
              args.openssl_count, args.dir.c_str());

  certwatch::pki::Issuer issuer(pki_dir);
  {
    certwatch::pki::InitRequest init;
    init.subject = "/C=DE/O=Bench/CN=Bench Root CA";
    init.now = now;
    must(issuer.init(init), "init");
    certwatch::pki::CaRequest ca;
    ca.name = "server-ca";
    ca.subject = "/C=DE/O=Bench/CN=Bench Server CA";
    ca.now = now;
    must(issuer.create_ca(ca), "ca");
  }

  // 1. OpenSSL's ceiling: keygen + build + sign with the same extensions, in memory.
  auto ca_cert = read_cert(pki_dir / "server-ca" / "certs" / "server-ca.cert.pem");
  auto ca_key = read_key(pki_dir / "server-ca" / "private" / "server-ca.key.pem");
  double t0 = bench::now_seconds();
  for (int i = 0; i < args.count; ++i) {
    auto key = bench::make_key(false);
    auto x = bench::make_cert("ceiling-" + std::to_string(i) + ".bench.local", key.get(), ca_cert.get(),
                              ca_key.get(), false);
  }
  const double ceiling_s = bench::now_seconds() - t0;

  // 2. The issuer in-process: key, cert, chain written (fsync + rename), ledger row committed.
  const fs::path out = args.dir / "issued";
  const double inproc_s = issue_in_process(issuer, "server-ca", "leaf-", args.count, out, now, std::nullopt);

  // 3. The seed's openssl command sequence, one shell running all of them.
  const fs::path ossl_out = args.dir / "openssl";
  fs::create_directories(ossl_out);
  const auto ossl = bench::run_child({"/bin/sh", "-c", openssl_script(pki_dir, ossl_out, args.openssl_count)});
  if (ossl.exit_code != 0) bench::die("openssl sequence failed");

  // 4. `certwatch pki issue`, one process per certificate.
  const double cli_s = issue_by_cli(pki_dir, "server-ca", "cli-", args.openssl_count, args.dir / "cli", {});

  // 5. The same with the CA's key in a PKCS#11 token.
  double token_inproc_s = 0, token_cli_s = 0;
  const bool token = !args.module.empty() && fs::exists(args.module) && make_token(args.dir / "hsm", args.module);
  if (!args.module.empty() && !token)
    std::printf("no PKCS#11 token (module %s, softhsm2-util, pkcs11-tool): token rows skipped\n",
                args.module.c_str());
  if (token) {
    certwatch::pki::Pkcs11Uri uri;
    uri.token = "bench";
    uri.object = "server-ca-token";
    uri.module_path = args.module;
    certwatch::pki::CaRequest ca;
    ca.name = "server-ca-token";
    ca.subject = "/C=DE/O=Bench/CN=Bench Token Server CA";
    ca.now = now;
    ca.new_key.token = uri;
    ca.new_key.pin = certwatch::pki::Passphrase("1234");
    ca.new_key.key_type_given = false;  // the EC P-256 key pkcs11-tool made
    must(issuer.create_ca(ca), "token ca");
    token_inproc_s = issue_in_process(issuer, "server-ca-token", "tok-", args.count, args.dir / "token",
                                      now, certwatch::pki::Passphrase("1234"));
    token_cli_s = issue_by_cli(pki_dir, "server-ca-token", "tokcli-", args.openssl_count, args.dir / "tokcli",
                               {"--pin-file", (args.dir / "hsm" / "pin").string()});
  }

  const auto ledger_rows = must(must(issuer.ledger(), "ledger")->list(), "list").size();
  const double ceiling_rate = args.count / ceiling_s;
  const double inproc_rate = args.count / inproc_s;
  const double ossl_rate = args.openssl_count / ossl.wall;
  const double cli_rate = args.openssl_count / cli_s;
  std::printf("\n%-58s %10s %12s\n", "", "certs/s", "ms/cert");
  std::printf("%-58s %10.1f %12.3f\n", "OpenSSL ceiling: keygen + sign in memory", ceiling_rate, 1e3 / ceiling_rate);
  std::printf("%-58s %10.1f %12.3f\n", "certwatch::pki::Issuer in-process (ledger + fsynced files)", inproc_rate,
              1e3 / inproc_rate);
  std::printf("%-58s %10.1f %12.3f\n", "seed 001 openssl sequence (processes per cert)", ossl_rate, 1e3 / ossl_rate);
  std::printf("%-58s %10.1f %12.3f\n", "certwatch pki issue (one process per cert)", cli_rate, 1e3 / cli_rate);
  std::printf("\nin-process vs openssl sequence: %.1fx faster\n", inproc_rate / ossl_rate);
  std::printf("in-process vs OpenSSL ceiling:  %.1f%% of the ceiling\n", 100.0 * inproc_rate / ceiling_rate);
  std::printf("CLI per process vs openssl sequence: %.1fx\n", cli_rate / ossl_rate);
  if (token) {
    const double token_inproc_rate = args.count / token_inproc_s;
    const double token_cli_rate = args.openssl_count / token_cli_s;
    std::printf("\n%-58s %10s %12s\n", "CA key in a PKCS#11 token (SoftHSM2), EC P-256", "certs/s", "ms/cert");
    std::printf("%-58s %10.1f %12.3f\n", "certwatch::pki::Issuer in-process, token key", token_inproc_rate,
                1e3 / token_inproc_rate);
    std::printf("%-58s %10.1f %12.3f\n", "certwatch pki issue (one process per cert), token key", token_cli_rate,
                1e3 / token_cli_rate);
    std::printf("token key vs file key, in-process: %.2fx the rate (%+.3f ms/cert)\n", token_inproc_rate / inproc_rate,
                1e3 / token_inproc_rate - 1e3 / inproc_rate);
    std::printf("token key vs file key, CLI per process: %.2fx the rate (%+.3f ms/cert)\n",
                token_cli_rate / cli_rate, 1e3 / token_cli_rate - 1e3 / cli_rate);
  }
  std::printf("ledger rows: %zu (root, server CA(s), %d in-process, %d CLI per CA)\n", ledger_rows, args.count,
              args.openssl_count);
  std::error_code ec;
  fs::remove_all(args.dir, ec);
  return 0;
}
