// Benchmark: render /metrics for 100,000 certificates (issue #4 goal: <= 300 ms).
//
// Builds the agent's per-certificate families from exporters/prometheus/metric_names.h with
// realistic label values (100,000 certificates in 20,000 files, 5 per file): not_after and
// not_before (7 labels each) and cert_info (13 labels), i.e. 300,000 series, plus one finding per
// 10 files. Then times, each as the median of several runs: building the registry, rendering, gzip
// of the rendered text at levels 1 and 6, and replacing one file's series; and the heap the
// registry holds.
//
//   build/bench/metrics_render [certificates]    (default 100000)
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/metrics_corpus.h"
#include "exporters/gzip.h"
#include "exporters/prometheus/metric_names.h"
#include "exporters/prometheus/metrics.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace names = certwatch::exporters::metric_names;
using bench::Cert;
using bench::Corpus;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Families {
  explicit Families(certwatch::exporters::Registry& reg)
      : not_after(*reg.gauge(names::kCertNotAfter).value()),
        not_before(*reg.gauge(names::kCertNotBefore).value()),
        info(*reg.gauge(names::kCertInfo).value()),
        finding(*reg.gauge(names::kFinding).value()) {}
  void add(const Cert& c) {
    const auto labels = c.labels();
    not_after.add(labels).set(c.not_before + 90 * 86400);
    not_before.add(labels).set(c.not_before);
    info.add(c.info_labels()).set(1);
    if (c.has_finding)
      finding.add({"file", c.target, "0", "cert.expires_soon", "warning", c.fp}).set(1);
  }
  std::size_t remove(const Cert& c) {
    const auto labels = c.labels();
    std::size_t n = not_after.remove(labels) + not_before.remove(labels);
    n += info.remove(c.info_labels());
    if (c.has_finding)
      n += finding.remove({"file", c.target, "0", "cert.expires_soon", "warning", c.fp});
    return n;
  }
  certwatch::exporters::GaugeFamily& not_after;
  certwatch::exporters::GaugeFamily& not_before;
  certwatch::exporters::GaugeFamily& info;
  certwatch::exporters::GaugeFamily& finding;
};

void fill(certwatch::exporters::Registry& reg, const Corpus& corpus) {
  Families f(reg);
  for (std::size_t i = 0; i < corpus.certs; ++i) f.add(Cert(corpus, i));
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t certs = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 100000;
  const Corpus corpus{certs};
  constexpr int kRuns = 5;

  std::vector<double> build_ms;
  certwatch::exporters::Registry reg;
  for (int run = 0; run < 3; ++run) {
    certwatch::exporters::Registry scratch;
    const auto t0 = Clock::now();
    fill(scratch, corpus);
    build_ms.push_back(ms_since(t0));
  }
  const std::size_t heap_before = mallinfo2().uordblks;
  fill(reg, corpus);
  const std::size_t heap_bytes = mallinfo2().uordblks - heap_before;
  const std::size_t series = reg.series_count();

  std::vector<double> render_ms;
  std::string body;
  for (int run = 0; run < kRuns; ++run) {
    std::string out;
    const auto t0 = Clock::now();
    reg.render(out);
    render_ms.push_back(ms_since(t0));
    body = std::move(out);
  }

  std::vector<double> gzip1_ms, gzip6_ms;
  std::size_t gz1 = 0, gz6 = 0;
  for (int run = 0; run < 3; ++run) {
    auto t0 = Clock::now();
    gz1 = certwatch::exporters::gzip_compress(body, 1)->size();
    gzip1_ms.push_back(ms_since(t0));
    t0 = Clock::now();
    gz6 = certwatch::exporters::gzip_compress(body, 6)->size();
    gzip6_ms.push_back(ms_since(t0));
  }

  // One file changed, the way the agent does it: the series of its 5 certificates removed
  // by exact labels (from the previous report) and added again, O(log n) each. For
  // reference, remove_where() scans every series of every family.
  Families families(reg);
  std::vector<double> change_ms;
  std::size_t changed = 0;
  for (int run = 0; run < kRuns; ++run) {
    const std::size_t file = static_cast<std::size_t>(run) * 10;
    const auto t0 = Clock::now();
    changed = 0;
    for (std::size_t i = file * Corpus::kPerFile; i < (file + 1) * Corpus::kPerFile; ++i) {
      const Cert c(corpus, i);
      changed += families.remove(c);
      families.add(c);
    }
    change_ms.push_back(ms_since(t0));
  }
  if (reg.series_count() != series) {
    std::fprintf(stderr, "metrics_render: series count changed after a re-add\n");
    return 2;
  }
  std::vector<double> remove_where_ms;
  std::size_t removed = 0;
  for (int run = 0; run < 3; ++run) {
    const auto t0 = Clock::now();
    removed = reg.remove_where("target", corpus.path(static_cast<std::size_t>(run + 1) * 10));
    remove_where_ms.push_back(ms_since(t0));
  }

  const double render = median(render_ms);
  std::printf("metrics_render: %zu certificates, %zu series, %.1f MiB of text\n", certs, series,
              static_cast<double>(body.size()) / (1 << 20));
  std::printf("  registry heap       %8.1f MiB (%.0f bytes per certificate, %.0f per series)\n",
              static_cast<double>(heap_bytes) / (1 << 20),
              static_cast<double>(heap_bytes) / static_cast<double>(certs),
              static_cast<double>(heap_bytes) / static_cast<double>(series));
  std::printf("  build registry      %8.1f ms  (%.0f series/s)\n", median(build_ms),
              static_cast<double>(series) / median(build_ms) * 1000);
  std::printf("  render              %8.1f ms  (%.0f series/s)  goal <= 300 ms: %s\n", render,
              static_cast<double>(series) / render * 1000, render <= 300 ? "met" : "MISSED");
  std::printf("  gzip level 1        %8.1f ms  -> %.1f MiB (%.1fx)\n", median(gzip1_ms),
              static_cast<double>(gz1) / (1 << 20),
              static_cast<double>(body.size()) / static_cast<double>(gz1));
  std::printf("  gzip level 6        %8.1f ms  -> %.1f MiB (%.1fx)\n", median(gzip6_ms),
              static_cast<double>(gz6) / (1 << 20),
              static_cast<double>(body.size()) / static_cast<double>(gz6));
  std::printf("  one file changed    %8.3f ms  (%zu series removed by labels and re-added)\n",
              median(change_ms), changed);
  std::printf("  remove_where target %8.1f ms  (%zu series; scans all series)\n",
              median(remove_where_ms), removed);
  return render <= 300 ? 0 : 1;
}
