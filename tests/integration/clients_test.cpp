// The client-family differential test: every chain of a matrix (orders, missing, duplicate,
// extra and root-included certificates, EKU and key-usage variants, RSA and EC, key sizes,
// SHA-1, sizes around a 4 KiB device record, expired intermediates) is served by
// `openssl s_server` on 127.0.0.1 exactly as the file holds it, and four real clients connect:
// `openssl s_client`, `gnutls-cli`, a Go client built here (standard library only, offline)
// and the mbedTLS 2.28 client CMake built (tests/integration/clients/). Each outcome must
// equal pki/verify/clients.h's prediction for the same file. The CI subset runs on every test run;
// CERTWATCH_CLIENT_MATRIX=full (scripts/client_matrix.sh) runs every case and prints the
// tally recorded in bench/RESULTS.md.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <ctime>
#include <functional>
#include <iostream>

#include "pki/verify/clients.h"
#include "pki/judge/judge.h"
#include "support/fixtures.h"
#include "support/pki_fixture.h"

using namespace testing;

namespace {

struct Case {
  std::string name;
  std::vector<fs::path> served;  // served[0] is the server's identity
  fs::path key;                  // served[0]'s key
  bool ci = false;               // in the CI subset
};

struct Client {
  std::string family;
  std::function<RunResult(int port, const fs::path& bundle, const std::string& host)> connect;
};

constexpr const char* kHost = "mqtt.lab.local";

// A leaf whose DER is about `target` bytes (SANs added until it is), to place the Certificate
// message just under or over the device record.
CertFiles sized_leaf(PkiFixture& f, const std::string& name, const CertFiles& ca, size_t target) {
  size_t sans = 10;
  for (int round = 0; round < 4; ++round) {
    auto o = CertOptions::of(kHost);
    std::string line = "subjectAltName = DNS:" + std::string(kHost);
    for (size_t i = 0; i < sans; ++i) line += ", DNS:device-alias-" + std::to_string(1000 + i) + ".lab.local";
    o.ext = "basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\n"
            "extendedKeyUsage = serverAuth\n" + line + "\n";
    auto leaf = f.server(name, ca, o);
    const size_t size = load_certs(leaf.cert)[0].der().size();
    if (size + 40 > target && size <= target) return leaf;
    // Each SAN adds 31 bytes of DER ("device-alias-1000.lab.local" and its header).
    const long diff = static_cast<long>(target) - 20 - static_cast<long>(size);
    sans = static_cast<size_t>(std::max<long>(1, static_cast<long>(sans) + diff / 31));
  }
  return f.server(name, ca, CertOptions::of(kHost));
}

std::vector<Case> make_matrix(PkiFixture& f) {
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  std::vector<Case> m;
  const auto add = [&](std::string name, std::vector<fs::path> served, fs::path key, bool ci) {
    m.push_back(Case{std::move(name), std::move(served), std::move(key), ci});
  };
  // EC: root -> int1 -> int2 -> leaf.
  auto root = f.root("ec/root", CertOptions::of("Matrix EC Root").with_days(3650));
  auto int1 = f.ca("ec/int1", root, CertOptions::of("Matrix EC Int1").with_days(1825), 1);
  auto int2 = f.ca("ec/int2", int1, CertOptions::of("Matrix EC Int2").with_days(1825), 0);
  auto leaf = f.server("ec/leaf", int2, CertOptions::of(kHost));
  auto stray = f.root("ec/stray", CertOptions::of("Stray Root"));
  add("ec good", {leaf.cert, int2.cert, int1.cert}, leaf.key, true);
  add("ec intermediates reversed", {leaf.cert, int1.cert, int2.cert}, leaf.key, true);
  add("ec missing intermediate", {leaf.cert, int2.cert}, leaf.key, true);
  add("ec leaf only", {leaf.cert}, leaf.key, false);
  add("ec root included", {leaf.cert, int2.cert, int1.cert, root.cert}, leaf.key, true);
  add("ec root in the middle", {leaf.cert, root.cert, int2.cert, int1.cert}, leaf.key, false);
  add("ec duplicate intermediate", {leaf.cert, int2.cert, int2.cert, int1.cert}, leaf.key, true);
  add("ec extra unrelated", {leaf.cert, int2.cert, stray.cert, int1.cert}, leaf.key, false);
  add("ec CA first (leaf not first)", {int2.cert, leaf.cert, int1.cert}, int2.key, true);
  // Path building (issue 23). The trusted EC root cross-signed by an old root nobody here
  // trusts (Let's Encrypt 2021-2024: ISRG Root X1 under DST Root CA X3), served last.
  auto old_root = f.root("ec/oldroot", CertOptions::of("Matrix Old Root").with_days(3650));
  auto cross = f.ca("ec/cross", old_root,
                    CertOptions::of("Matrix EC Root").with_days(400).with_key(root.key), std::nullopt);
  add("ec root cross-signed by an untrusted old root, served", {leaf.cert, int2.cert, int1.cert, cross.cert},
      leaf.key, true);
  // Key rollover under the trusted root's name: an old key (self-signed, untrusted) certifies
  // the trusted root's key (NewWithOld), and the trusted key certifies the old one (OldWithNew)
  // for a CA still under the old key.
  auto prev = f.root("ec/prevroot", CertOptions::of("Matrix EC Root").with_days(3650));
  auto new_with_old = f.ca("ec/newwithold", prev,
                           CertOptions::of("Matrix EC Root").with_days(3000).with_key(root.key), std::nullopt);
  add("ec link certificate (new key by old) served", {leaf.cert, int2.cert, int1.cert, new_with_old.cert},
      leaf.key, true);
  auto old_with_new = f.ca("ec/oldwithnew", root,
                           CertOptions::of("Matrix EC Root").with_days(3000).with_key(prev.key), std::nullopt);
  auto prev_int = f.ca("ec/previnterm", prev, CertOptions::of("Matrix EC Old-Key CA").with_days(1825), 0);
  auto prev_leaf = f.server("ec/prevleaf", prev_int, CertOptions::of(kHost));
  add("ec link certificate (old key by new) completes the path", {prev_leaf.cert, prev_int.cert, old_with_new.cert},
      prev_leaf.key, true);
  add("ec old-key CA without its link certificate", {prev_leaf.cert, prev_int.cert}, prev_leaf.key, false);
  // EKU variants.
  auto client_leaf = f.client("ec/clientleaf", int2, CertOptions::of(kHost).with_extra("subjectAltName = DNS:" + std::string(kHost)));
  add("ec leaf EKU clientAuth only", {client_leaf.cert, int2.cert, int1.cert}, client_leaf.key, true);
  auto no_eku = f.server("ec/noeku", int2, CertOptions::of(kHost).with_ext(
      "basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\nsubjectAltName = DNS:" + std::string(kHost) + "\n"));
  add("ec leaf without EKU", {no_eku.cert, int2.cert, int1.cert}, no_eku.key, false);
  auto eku_ca = f.ca("ec/ekuca", int1, CertOptions::of("Matrix EKU CA").with_days(1825).with_extra("extendedKeyUsage = clientAuth"), 0);
  auto eku_leaf = f.server("ec/ekuleaf", eku_ca, CertOptions::of(kHost));
  add("ec intermediate EKU clientAuth only", {eku_leaf.cert, eku_ca.cert, int1.cert}, eku_leaf.key, true);
  // Key-usage variants.
  auto ka = f.server("ec/keyagreement", int2, CertOptions::of(kHost).with_ext(
      "basicConstraints = CA:FALSE\nkeyUsage = critical, keyAgreement\nextendedKeyUsage = serverAuth\n"
      "subjectAltName = DNS:" + std::string(kHost) + "\n"));
  add("ec leaf keyUsage keyAgreement only", {ka.cert, int2.cert, int1.cert}, ka.key, true);
  auto nocs_ca = f.ca("ec/nocertsign", int1, CertOptions::of("Matrix No CertSign CA").with_ext(
      "basicConstraints = critical, CA:TRUE, pathlen:0\nkeyUsage = critical, digitalSignature, cRLSign\n"
      "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n"));
  auto nocs_leaf = f.server("ec/nocsleaf", nocs_ca, CertOptions::of(kHost));
  add("ec intermediate without keyCertSign", {nocs_leaf.cert, nocs_ca.cert, int1.cert}, nocs_leaf.key, false);
  // Expired intermediate (issued 400 days ago for 30 days) with a valid leaf under it.
  auto old_ca = f.ca("ec/oldca", int1, CertOptions::of("Matrix Expired CA").with_days(30).with_not_before(now - 400 * 86400), 0);
  auto old_leaf = f.server("ec/oldleaf", old_ca, CertOptions::of(kHost));
  add("ec expired intermediate", {old_leaf.cert, old_ca.cert, int1.cert}, old_leaf.key, true);
  // SHA-1.
  auto sha1_leaf = f.server("ec/sha1leaf", int2, CertOptions::of(kHost).with_digest("sha1"));
  add("ec leaf signed with SHA-1", {sha1_leaf.cert, int2.cert, int1.cert}, sha1_leaf.key, true);
  auto sha1_ca = f.ca("ec/sha1ca", int1, CertOptions::of("Matrix SHA1 CA").with_digest("sha1"), 0);
  auto sha1_ca_leaf = f.server("ec/sha1caleaf", sha1_ca, CertOptions::of(kHost));
  add("ec intermediate signed with SHA-1", {sha1_ca_leaf.cert, sha1_ca.cert, int1.cert}, sha1_ca_leaf.key, false);
  // Sizes around the device record (4096 bytes for the Certificate message).
  const size_t chain_rest = load_certs(int2.cert)[0].der().size() + load_certs(int1.cert)[0].der().size();
  auto under = sized_leaf(f, "ec/under", int2, 4096 - 7 - 9 - chain_rest - 60);
  auto over = sized_leaf(f, "ec/over", int2, 4096 - 7 - 9 - chain_rest + 80);
  add("ec chain just under 4 KiB", {under.cert, int2.cert, int1.cert}, under.key, true);
  add("ec chain just over 4 KiB", {over.cert, int2.cert, int1.cert}, over.key, true);
  // RSA: root -> int -> leaf, key sizes and key usage.
  auto rroot = f.root("rsa/root", CertOptions::of("Matrix RSA Root").with_alg(KeyAlg::rsa_2048).with_days(3650));
  auto rint = f.ca("rsa/int", rroot, CertOptions::of("Matrix RSA Int").with_alg(KeyAlg::rsa_2048).with_days(1825), 0);
  auto rleaf = f.server("rsa/leaf", rint, CertOptions::of(kHost).with_alg(KeyAlg::rsa_2048));
  add("rsa good", {rleaf.cert, rint.cert}, rleaf.key, true);
  add("rsa root included", {rleaf.cert, rint.cert, rroot.cert}, rleaf.key, false);
  add("rsa CA first (leaf not first)", {rint.cert, rleaf.cert}, rint.key, false);
  auto small = f.server("rsa/small", rint, CertOptions::of(kHost).with_alg(KeyAlg::rsa_1024));
  add("rsa 1024-bit leaf", {small.cert, rint.cert}, small.key, true);
  auto small_ca = f.ca("rsa/smallca", rroot, CertOptions::of("Matrix RSA 1024 CA").with_alg(KeyAlg::rsa_1024), 0);
  auto small_ca_leaf = f.server("rsa/smallcaleaf", small_ca, CertOptions::of(kHost).with_alg(KeyAlg::rsa_2048));
  add("rsa 1024-bit intermediate", {small_ca_leaf.cert, small_ca.cert}, small_ca_leaf.key, false);
  auto ke_only = f.server("rsa/keonly", rint, CertOptions::of(kHost).with_alg(KeyAlg::rsa_2048).with_ext(
      "basicConstraints = CA:FALSE\nkeyUsage = critical, keyEncipherment\nextendedKeyUsage = serverAuth\n"
      "subjectAltName = DNS:" + std::string(kHost) + "\n"));
  add("rsa leaf keyUsage keyEncipherment only", {ke_only.cert, rint.cert}, ke_only.key, true);
  auto ds_only = f.server("rsa/dsonly", rint, CertOptions::of(kHost).with_alg(KeyAlg::rsa_2048).with_ext(
      "basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = serverAuth\n"
      "subjectAltName = DNS:" + std::string(kHost) + "\n"));
  add("rsa leaf keyUsage digitalSignature only", {ds_only.cert, rint.cert}, ds_only.key, false);
  auto rsha1 = f.server("rsa/sha1", rint, CertOptions::of(kHost).with_alg(KeyAlg::rsa_2048).with_digest("sha1"));
  add("rsa leaf signed with SHA-1", {rsha1.cert, rint.cert}, rsha1.key, false);
  return m;
}

// The bundle every client trusts: both roots.
fs::path trust_bundle(PkiFixture& f) {
  return f.cat("clients-bundle.pem", {f.dir() / "ec/root.cert.pem", f.dir() / "rsa/root.cert.pem"});
}

std::vector<Client> real_clients(const fs::path& go_client) {
  std::vector<Client> out;
  out.push_back({"openssl", [](int port, const fs::path& bundle, const std::string& host) {
                   return run({"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(port),
                               "-CAfile", bundle.string(), "-verify_return_error", "-verify_hostname", host,
                               "-servername", host, "-brief"},
                              std::chrono::seconds(20));
                 }});
  out.push_back({"gnutls", [](int port, const fs::path& bundle, const std::string& host) {
                   return run({"gnutls-cli", "--x509cafile", bundle.string(), "-p", std::to_string(port),
                               "--verify-hostname", host, "127.0.0.1"},
                              std::chrono::seconds(20));
                 }});
  out.push_back({"go", [go_client](int port, const fs::path& bundle, const std::string& host) {
                   return run({go_client.string(), "127.0.0.1:" + std::to_string(port), bundle.string(), host},
                              std::chrono::seconds(20));
                 }});
  out.push_back({"mbedtls", [](int port, const fs::path& bundle, const std::string& host) {
                   return run({CERTWATCH_MBEDTLS_CLIENT, std::to_string(port), bundle.string(), host},
                              std::chrono::seconds(20));
                 }});
  return out;
}

// Builds tests/integration/clients/go_client.go offline, caches in `dir`.
fs::path build_go_client(const fs::path& dir) {
  const fs::path src = source_dir() / "tests" / "integration" / "clients" / "go_client.go";
  const fs::path bin = dir / "go_client";
  auto r = run({"go", "build", "-o", bin.string(), src.string()}, std::chrono::seconds(240), {},
               {"GOTOOLCHAIN=local", "GOFLAGS=-mod=mod", "GOPROXY=off", "GO111MODULE=off",
                "GOCACHE=" + (dir / "gocache").string(), "GOPATH=" + (dir / "gopath").string(),
                "HOME=" + dir.string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return bin;
}

}  // namespace

TEST_CASE("client-family predictions equal the real clients' outcomes", "[integration][clients]") {
  const char* mode = std::getenv("CERTWATCH_CLIENT_MATRIX");
  const bool full = mode != nullptr && std::string(mode) == "full";
  for (const char* p : {"openssl", "gnutls-cli", "go"}) REQUIRE(have_program(p));
  TempDir tmp;
  PkiFixture f(tmp / "pki");
  const fs::path go_client = build_go_client(tmp.path());
  const auto matrix = make_matrix(f);
  const fs::path bundle = trust_bundle(f);
  const auto clients = real_clients(go_client);

  certwatch::pki::JudgeOptions opt;
  opt.trust = load_certs(bundle);
  opt.host = kHost;
  opt.now = static_cast<int64_t>(std::time(nullptr));
  for (auto fam : certwatch::pki::client_families()) opt.clients.emplace_back(fam);

  int cases = 0, agreements = 0, disagreements = 0;
  for (const auto& c : matrix) {
    if (!full && !c.ci) continue;
    ++cases;
    const fs::path file = f.cat("served/" + std::to_string(cases) + ".pem", c.served);
    const certwatch::pki::Report predicted = certwatch::pki::judge_file(file, opt);
    REQUIRE(predicted.clients.size() == clients.size());
    std::vector<std::string> argv{"openssl", "s_server", "-accept", "0", "-cert", c.served[0].string(),
                                  "-key", c.key.string(), "-no-CAfile", "-no-CApath", "-no-CAstore",
                                  "-quiet", "-cipher", "DEFAULT:@SECLEVEL=0"};
    if (c.served.size() > 1) {
      const std::vector<fs::path> rest(c.served.begin() + 1, c.served.end());
      argv.insert(argv.end(), {"-cert_chain", f.cat("served/" + std::to_string(cases) + ".rest.pem", rest).string()});
    }
    const int port = free_port();
    argv[3] = "127.0.0.1:" + std::to_string(port);
    const fs::path log = tmp / ("server-" + std::to_string(cases) + ".log");
    Process server(argv, log);
    INFO(c.name << ": openssl s_server did not start: " << read_file(log));
    REQUIRE(wait_for_port(port, std::chrono::seconds(10)));
    for (size_t k = 0; k < clients.size(); ++k) {
      const RunResult r = clients[k].connect(port, bundle, kHost);
      const bool accepted = r.exit_code == 0;
      const certwatch::pki::ClientVerdict& v = predicted.clients[k];
      REQUIRE(v.family == clients[k].family);
      const bool agree = accepted == v.accepts;
      (agree ? agreements : disagreements) += 1;
      std::cout << (agree ? "agree    " : "DISAGREE ") << c.name << " / " << v.family << ": real "
                << (accepted ? "accepts" : "rejects") << ", predicted "
                << (v.accepts ? "accepts" : "rejects: " + v.reason) << "\n";
      if (!agree) std::cout << "    real output: " << r.out.substr(0, 600) << r.err.substr(0, 600) << "\n";
      CHECK(agree);
    }
  }
  std::cout << "client matrix (" << (full ? "full" : "CI subset") << "): " << cases << " cases, "
            << cases * static_cast<int>(clients.size()) << " verdicts, " << agreements << " agreements, "
            << disagreements << " disagreements\n";
  CHECK(cases > 0);
}
