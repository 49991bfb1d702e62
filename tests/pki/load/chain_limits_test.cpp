#include <catch2/catch.hpp>

#include <openssl/err.h>
#include <openssl/pem.h>

#include <ctime>
#include <fstream>
#include <memory>

#include "pki/load/chain_limits.h"
#include "pki/judge/judge.h"
#include "pki/load/load.h"
#include "support/fixtures.h"
#include "support/hostile_certs.h"
#include "support/pki_fixture.h"

using namespace testing;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr double kCpuBudget = 8.0;  // ASan+UBSan builds run several times slower
#else
constexpr double kCpuBudget = 1.0;  // issue 15: any input up to 10 MiB in <= 1 s of CPU
#endif

struct Timed {
  certwatch::pki::Report report;
  double cpu_seconds = 0;
};

Timed judge_timed(const fs::path& file) {
  certwatch::pki::JudgeOptions o;
  o.now = static_cast<int64_t>(std::time(nullptr));
  o.threads = 1;
  const std::clock_t start = std::clock();
  Timed t{certwatch::pki::judge_file(file, o), 0};
  t.cpu_seconds = static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC;
  return t;
}

fs::path write_file(const TempDir& tmp, const std::string& name, const std::string& text) {
  const fs::path p = tmp / name;
  std::ofstream(p, std::ios::binary) << text;
  return p;
}

}  // namespace

TEST_CASE("1,000 same-name CAs signed each by the next are judged in bounded time", "[chain][limits]") {
  TempDir tmp;
  const auto file = write_file(tmp, "same-name.pem", same_name_ca_pem(1000, true));
  const Timed t = judge_timed(file);
  INFO("cpu " << t.cpu_seconds << " s");
  CHECK(t.cpu_seconds <= kCpuBudget);
  CHECK(t.report.certs.size() == 1000);
  const certwatch::pki::Finding* f = find_finding(t.report, "input.too_complex");
  REQUIRE(f != nullptr);
  CHECK(f->message.find("limit") != std::string::npos);
}

TEST_CASE("a 10 MiB file of same-key, same-name CAs: judged in part, in bounded time", "[chain][limits]") {
  TempDir tmp;
  std::string pem;
  const std::string block = same_name_ca_pem(200, false);
  // Distinct serials keep every certificate distinct; fill up to just under the 10 MiB cap.
  int made = 0;
  for (int round = 0; pem.size() + block.size() * 2 < certwatch::pki::kMaxInputBytes && round < 200; ++round) {
    pem += same_name_ca_pem(200, false);
    made += 200;
  }
  REQUIRE(pem.size() <= certwatch::pki::kMaxInputBytes);
  const auto file = write_file(tmp, "huge.pem", pem);
  const Timed t = judge_timed(file);
  INFO("cpu " << t.cpu_seconds << " s for " << made << " certificates, " << pem.size() << " bytes");
  CHECK(t.cpu_seconds <= kCpuBudget);
  CHECK(t.report.certs.size() == certwatch::pki::kMaxCertificatesAnalysed);
  bool counted = false;
  for (const auto& f : t.report.findings)
    if (f.id == "input.too_complex" && f.message.find(std::to_string(made) + " certificates") == 0) counted = true;
  CHECK(counted);

  // The same certificates as concatenated DER (only the first 1,000 are parsed, the rest
  // skipped by their envelope)...
  {
    std::string der;
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
    while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
      unsigned char* out = nullptr;
      const int len = i2d_X509(x, &out);
      if (len > 0) der.append(reinterpret_cast<const char*>(out), static_cast<size_t>(len));
      OPENSSL_free(out);
      X509_free(x);
    }
    ERR_clear_error();
    const Timed d = judge_timed(write_file(tmp, "huge.der", der));
    INFO("DER: cpu " << d.cpu_seconds << " s");
    CHECK(d.cpu_seconds <= kCpuBudget);
    CHECK(d.report.certs.size() == certwatch::pki::kMaxCertificatesAnalysed);
    CHECK(has_finding(d.report, "input.too_complex"));
  }
  // ...and as a PKCS#7 bundle, DER and PEM (what openssl crl2pkcs7 writes).
  for (const char* form : {"DER", "PEM"}) {
    const fs::path p7 = tmp / (std::string("huge.p7b.") + form);
    must_run({"openssl", "crl2pkcs7", "-nocrl", "-certfile", file.string(), "-outform", form, "-out", p7.string()});
    const Timed b = judge_timed(p7);
    INFO(form << ": cpu " << b.cpu_seconds << " s");
    CHECK(b.cpu_seconds <= kCpuBudget);
    CHECK(b.report.certs.size() == certwatch::pki::kMaxCertificatesAnalysed);
    CHECK(has_finding(b.report, "input.too_complex"));
  }
}

TEST_CASE("an ordinary chain stays clear of the limits", "[chain][limits]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  auto d = make_deep_chain(f);
  const Timed t = judge_timed(f.cat("chain.pem", {d.leaf.cert, d.int2.cert, d.int1.cert}));
  CHECK_FALSE(has_finding(t.report, "input.too_complex"));
}
