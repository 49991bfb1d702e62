// bench/check_throughput: how fast `certwatch check --json DIR` judges a directory of chain
// files, against the single-core signature-verify rate of the same OpenSSL measured in the
// same run (the ceiling: judging a chain cannot be cheaper than verifying its leaf's
// signature once). Issue #2, acceptance 6. Goal: >= 0.5 of the ceiling per core used.
//
//   build/bench/check_throughput [--files 10000] [--dir DIR] [--keep]
//
// Corpus: four CA hierarchies (EC P-256 and RSA-2048, each with one or two intermediates),
// leaves spread evenly across them; leaf keys come from a small pool because generating
// 5,000 RSA keys would measure key generation, not judging. Each file is leaf + intermediates
// (no root); the roots go to a separate trust bundle.
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "bench/bench_util.h"

namespace fs = std::filesystem;

namespace {

struct Hierarchy {
  certwatch::pki::UniquePtr<EVP_PKEY> root_key, int1_key, int2_key;
  certwatch::pki::UniquePtr<X509> root, int1, int2;
  int depth = 1;  // intermediates below the root
  bool rsa = false;
  std::string intermediates_pem;  // issuing CA first, as a chain file wants it
  X509* issuer() const { return depth == 2 ? int2.get() : int1.get(); }
  EVP_PKEY* issuer_key() const { return depth == 2 ? int2_key.get() : int1_key.get(); }
};

Hierarchy make_hierarchy(bool rsa, int depth, int n) {
  Hierarchy h;
  h.rsa = rsa;
  h.depth = depth;
  const std::string tag = std::string(rsa ? "RSA" : "EC") + " " + std::to_string(n);
  h.root_key = bench::make_key(rsa);
  h.root = bench::make_cert("Bench Root " + tag, h.root_key.get(), nullptr, nullptr, true, 3650);
  h.int1_key = bench::make_key(rsa);
  h.int1 = bench::make_cert("Bench Int1 " + tag, h.int1_key.get(), h.root.get(),
                            h.root_key.get(), true, 1825);
  if (depth == 2) {
    h.int2_key = bench::make_key(rsa);
    h.int2 = bench::make_cert("Bench Int2 " + tag, h.int2_key.get(), h.int1.get(),
                              h.int1_key.get(), true, 1800);  // inside int1's validity
    h.intermediates_pem = bench::to_pem(h.int2.get()) + bench::to_pem(h.int1.get());
  } else {
    h.intermediates_pem = bench::to_pem(h.int1.get());
  }
  return h;
}

}  // namespace

int main(int argc, char** argv) {
  int files = 10000;
  std::string dir;
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--files") == 0 && i + 1 < argc) {
      files = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
      dir = argv[++i];
    } else if (std::strcmp(argv[i], "--keep") == 0) {
      keep = true;
    } else {
      std::fprintf(stderr, "usage: %s [--files N] [--dir DIR] [--keep]\n", argv[0]);
      return 3;
    }
  }
  if (files <= 0) bench::die("--files must be positive");
  if (dir.empty()) {
    char templ[] = "/tmp/certwatch-bench-check-XXXXXX";
    if (mkdtemp(templ) == nullptr) bench::die("mkdtemp failed");
    dir = templ;
  }
  const fs::path root_dir(dir), corpus = root_dir / "chains";
  fs::create_directories(corpus);

  std::printf("check_throughput: generating %d chain files in %s\n", files, corpus.c_str());
  const double gen_start = bench::now_seconds();
  std::vector<Hierarchy> hs;
  hs.push_back(make_hierarchy(false, 1, 1));
  hs.push_back(make_hierarchy(false, 2, 2));
  hs.push_back(make_hierarchy(true, 1, 3));
  hs.push_back(make_hierarchy(true, 2, 4));
  std::string trust;
  for (const auto& h : hs) trust += bench::to_pem(h.root.get());
  bench::write((root_dir / "trust.pem").string(), trust);

  std::vector<certwatch::pki::UniquePtr<EVP_PKEY>> ec_keys, rsa_keys;
  for (int i = 0; i < 8; ++i) ec_keys.push_back(bench::make_key(false));
  for (int i = 0; i < 4; ++i) rsa_keys.push_back(bench::make_key(true));

  // Leaves kept for the ceiling measurement: (leaf, issuing CA's key).
  std::vector<std::pair<certwatch::pki::UniquePtr<X509>, EVP_PKEY*>> leaves;
  leaves.reserve(static_cast<size_t>(files));
  long certs_in_files = 0;
  for (int i = 0; i < files; ++i) {
    const Hierarchy& h = hs[static_cast<size_t>(i) % hs.size()];
    EVP_PKEY* key = h.rsa ? rsa_keys[static_cast<size_t>(i) % rsa_keys.size()].get()
                          : ec_keys[static_cast<size_t>(i) % ec_keys.size()].get();
    char name[64];
    std::snprintf(name, sizeof name, "leaf%05d.example.test", i);
    auto leaf = bench::make_cert(name, key, h.issuer(), h.issuer_key(), false, 365);
    std::snprintf(name, sizeof name, "leaf%05d.chain.pem", i);
    bench::write((corpus / name).string(), bench::to_pem(leaf.get()) + h.intermediates_pem);
    certs_in_files += 1 + h.depth;
    leaves.emplace_back(std::move(leaf), X509_get0_pubkey(h.issuer()));
  }
  std::printf("  generated %ld certificates in %.1f s\n", certs_in_files,
              bench::now_seconds() - gen_start);

  // Ceiling: one core verifying each leaf's signature once, same OpenSSL, same mix.
  const double v_start = bench::now_seconds();
  for (const auto& [leaf, issuer_key] : leaves) {
    if (X509_verify(leaf.get(), issuer_key) != 1) bench::die("ceiling: a signature failed");
  }
  const double v_time = bench::now_seconds() - v_start;
  const double ceiling = static_cast<double>(leaves.size()) / v_time;

  // certwatch check over the directory (one warm-up run to fill the page cache).
  const std::string out = (root_dir / "check.json").string();
  std::vector<std::string> cmd{CERTWATCH_BIN, "check", "--json", "--ca-bundle",
                                (root_dir / "trust.pem").string(), corpus.string()};
  bench::run_child(cmd, out);
  const bench::ChildUsage u = bench::run_child(cmd, out);
  if (u.exit_code != 0) {
    std::fprintf(stderr, "certwatch check exited %d (expected 0: a clean corpus); see %s\n",
                 u.exit_code, out.c_str());
    return 1;
  }
  const double rate = static_cast<double>(certs_in_files) / u.wall;
  const double cores = u.cpu() / u.wall;
  const double per_core = rate / std::max(cores, 1.0);
  const double chains_per_core = static_cast<double>(files) / u.wall / std::max(cores, 1.0);

  std::printf("\nresults (%d files, %ld certificates)\n", files, certs_in_files);
  std::printf("  ceiling: single-core X509_verify            %10.0f signatures/s\n", ceiling);
  std::printf("  certwatch check --json: wall %.2f s, cpu %.2f s (%.2f cores), max RSS %ld KiB\n",
              u.wall, u.cpu(), cores, u.max_rss_kib);
  std::printf("  certificates judged                         %10.0f certs/s\n", rate);
  std::printf("  certificates judged per core used           %10.0f certs/s/core\n", per_core);
  std::printf("  chain files judged per core used            %10.0f chains/s/core\n",
              chains_per_core);
  std::printf("  ratio certs/s/core to ceiling               %10.2f  (goal >= 0.50)\n",
              per_core / ceiling);
  std::printf("  ratio chains/s/core to ceiling              %10.2f\n", chains_per_core / ceiling);

  if (!keep) fs::remove_all(root_dir);
  return 0;
}
