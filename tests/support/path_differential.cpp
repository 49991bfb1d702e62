#include "support/path_differential.h"

#include <chrono>
#include <cstdio>
#include <exception>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "pki/judge/judge.h"
#include "support/fixtures.h"
#include "support/hierarchy_generator.h"
#include "support/pki_fixture.h"

namespace testing {
namespace {

fs::path served_file(const fs::path& dir, uint64_t seed) {
  return dir / (std::to_string(seed) + ".served.pem");
}
fs::path trust_file(const fs::path& dir, uint64_t seed) {
  return dir / (std::to_string(seed) + ".trust.pem");
}

std::vector<std::string> openssl_argv(const fs::path& dir, uint64_t seed, int64_t now) {
  const std::string f = served_file(dir, seed).string();
  return {"openssl",           "verify",  "-attime",
          std::to_string(now), "-CAfile", trust_file(dir, seed).string(),
          "-untrusted",        f,         f};
}

// Index of the certificate a finding's target names ("file#2" -> 2), or -1 for the file.
int cert_index(const certwatch::pki::Report& r, const std::string& target) {
  const std::string prefix = r.target + "#";
  if (target.rfind(prefix, 0) != 0) return -1;
  return std::stoi(target.substr(prefix.size()));
}

}  // namespace

bool certwatch_trusts(const certwatch::pki::Report& r) {
  static const std::set<std::string> path_ids{"chain.incomplete", "chain.untrusted",
                                              "chain.verify_failed"};
  static const std::set<std::string> lint_ids{"cert.expired", "cert.not_yet_valid",
                                              "ca.path_len_exceeded", "ca.no_key_cert_sign"};
  for (const auto& f : r.findings) {
    if (path_ids.count(f.id) != 0) return false;
    if (lint_ids.count(f.id) == 0) continue;
    const int i = cert_index(r, f.target);
    if (i < 0 || i >= static_cast<int>(r.certs.size())) return false;
    if (r.certs[static_cast<size_t>(i)].role != certwatch::pki::CertRole::unrelated) return false;
  }
  return true;
}

std::string DifferentialTally::text() const {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "%d hierarchies, %d agree (%.2f %%), %zu disagree; openssl accepted %d, "
                "refused %d; %.1f s (generate %.1f s, certwatch %.1f s beside openssl, then "
                "openssl %.1f s more)",
                cases, agreements, cases > 0 ? 100.0 * agreements / cases : 0.0,
                disagreements.size(), openssl_ok, cases - openssl_ok, seconds, generate_seconds,
                judge_seconds, openssl_wait);
  return buf;
}

DifferentialTally run_path_differential(const std::vector<uint64_t>& seeds, const fs::path& dir,
                                        int64_t now, int workers) {
  const auto start = std::chrono::steady_clock::now();
  const auto since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };
  DifferentialTally tally;
  fs::create_directories(dir);
  const KeyPool pool(16);
  // Made on `workers` threads too: the keys are only read (signing with a shared EVP_PKEY is
  // thread-safe in OpenSSL 3), each thread writes its own files and its own shapes.
  std::vector<std::string> shape_of(seeds.size());
  std::vector<std::thread> makers;
  std::vector<std::exception_ptr> failed(static_cast<size_t>(workers));
  for (int w = 0; w < workers; ++w)
    makers.emplace_back([&, w] {
      try {
        for (size_t i = static_cast<size_t>(w); i < seeds.size();
             i += static_cast<size_t>(workers)) {
          const Hierarchy h = make_hierarchy(seeds[i], pool, now);
          write_file(served_file(dir, seeds[i]), h.served_pem);
          write_file(trust_file(dir, seeds[i]), h.trust_pem);
          shape_of[i] = h.shape;
        }
      } catch (...) {
        failed[static_cast<size_t>(w)] = std::current_exception();
      }
    });
  for (auto& t : makers) t.join();
  for (const auto& e : failed)
    if (e) std::rethrow_exception(e);
  std::map<uint64_t, std::string> shapes;
  for (size_t i = 0; i < seeds.size(); ++i) shapes[seeds[i]] = shape_of[i];
  tally.generate_seconds = since(start);
  // openssl verify, one process per hierarchy, `workers` shells side by side.
  std::vector<std::ofstream> scripts;
  std::string all;
  for (int w = 0; w < workers; ++w) {
    scripts.emplace_back(dir / ("worker" + std::to_string(w) + ".sh"));
    all += "sh '" + (dir / ("worker" + std::to_string(w) + ".sh")).string() + "' > '" +
           (dir / ("worker" + std::to_string(w) + ".out")).string() + "' 2>/dev/null & ";
  }
  for (size_t i = 0; i < seeds.size(); ++i) {
    std::string line;
    for (const auto& a : openssl_argv(dir, seeds[i], now)) line += "'" + a + "' ";
    scripts[i % static_cast<size_t>(workers)] << line << ">/dev/null 2>&1; echo \"" << seeds[i]
                                              << " $?\"\n";
  }
  for (auto& s : scripts) s.close();
  Process shells({"sh", "-c", all + "wait"}, dir / "workers.log");

  // certwatch meanwhile, in this process.
  const auto judging = std::chrono::steady_clock::now();
  std::map<uint64_t, bool> trusted, judged;
  for (uint64_t seed : seeds) {
    certwatch::pki::JudgeOptions o;
    o.now = now;
    o.trust = load_certs(trust_file(dir, seed));
    const certwatch::pki::Report r = certwatch::pki::judge_file(served_file(dir, seed), o);
    trusted[seed] = r.trusted;
    judged[seed] = certwatch_trusts(r);
  }
  tally.judge_seconds = since(judging);
  const auto waiting = std::chrono::steady_clock::now();
  const auto bound = std::chrono::milliseconds(60000 + 200 * static_cast<long>(seeds.size()));
  if (!shells.wait(bound)) throw std::runtime_error("openssl verify workers did not finish");
  tally.openssl_wait = since(waiting);

  std::map<uint64_t, bool> openssl;
  for (int w = 0; w < workers; ++w) {
    std::istringstream in(read_file(dir / ("worker" + std::to_string(w) + ".out")));
    uint64_t seed = 0;
    int rc = -1;
    while (in >> seed >> rc) openssl[seed] = rc == 0;
  }
  for (uint64_t seed : seeds) {
    auto it = openssl.find(seed);
    if (it == openssl.end())
      throw std::runtime_error("no openssl verdict for seed " + std::to_string(seed));
    DifferentialOutcome o{seed, it->second, trusted[seed], judged[seed], shapes[seed], ""};
    ++tally.cases;
    if (o.openssl) ++tally.openssl_ok;
    if (o.agrees()) {
      ++tally.agreements;
      continue;
    }
    const RunResult again = run(openssl_argv(dir, seed, now), std::chrono::seconds(30));
    o.detail = "openssl: " + again.out + again.err;
    certwatch::pki::JudgeOptions opts;
    opts.now = now;
    opts.trust = load_certs(trust_file(dir, seed));
    o.detail += "certwatch: " + describe(certwatch::pki::judge_file(served_file(dir, seed), opts));
    tally.disagreements.push_back(std::move(o));
  }
  tally.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return tally;
}

}  // namespace testing
