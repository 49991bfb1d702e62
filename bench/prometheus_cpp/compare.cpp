// Benchmark: the agent's 100,000-certificate series in our exposition layer and in
// prometheus-cpp (Debian 12's prometheus-cpp-dev 1.0.1: Registry + TextSerializer), in one
// run, to keep the DESIGN.md decision for our own layer honest.
//
// Same series in both (bench/metrics_corpus.h): per certificate not_after and not_before (7
// labels) and cert_info (13 labels), one finding per 10 files. For each library, in turn and
// with the other's memory released: RSS grown by building the series (per certificate), the
// scrape time (median of 5 renders of the full text), and the peak RSS during one scrape
// above the RSS before it (VmHWM, reset through /proc/self/clear_refs). The sample lines of
// both texts are counted and must agree.
//
//   build/bench/prometheus_cpp/prometheus_cpp_compare [certificates]   (default 100000)
#include <malloc.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "bench/metrics_corpus.h"
#include "exporters/prometheus/metric_names.h"
#include "exporters/prometheus/metrics.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace names = certwatch::exporters::metric_names;

// VmRSS or VmHWM of this process, in bytes.
std::size_t proc_status_kib(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string k = std::string(key) + ":";
  while (std::getline(in, line))
    if (line.rfind(k, 0) == 0) return std::strtoull(line.c_str() + k.size(), nullptr, 10) * 1024;
  std::fprintf(stderr, "prometheus_cpp_compare: no %s in /proc/self/status\n", key);
  std::exit(2);
}
std::size_t rss() {
  return proc_status_kib("VmRSS");
}
// Resets VmHWM to the current RSS (Linux >= 4.0), so the next reading is the peak from now.
void reset_peak() {
  std::ofstream("/proc/self/clear_refs") << "5";
}
std::size_t peak() {
  return proc_status_kib("VmHWM");
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::size_t sample_lines(const std::string& text) {
  std::size_t n = 0;
  for (std::size_t p = 0; p < text.size();) {
    const std::size_t e = text.find('\n', p);
    if (text[p] != '#') ++n;
    if (e == std::string::npos) break;
    p = e + 1;
  }
  return n;
}

struct Figures {
  double rss_per_cert = 0;  // bytes
  double scrape_ms = 0;
  double scrape_peak_mib = 0;
  std::size_t samples = 0;
  double text_mib = 0;
};

// Builds the series with `fill`, then scrapes with `scrape` (returns the text).
template <class Fill, class Scrape>
Figures measure(std::size_t certs, Fill&& fill, Scrape&& scrape) {
  malloc_trim(0);
  const std::size_t before = rss();
  fill();
  malloc_trim(0);
  Figures f;
  f.rss_per_cert = static_cast<double>(rss() - before) / static_cast<double>(certs);
  std::string text = scrape();  // warm-up; also the text checked below
  f.samples = sample_lines(text);
  f.text_mib = static_cast<double>(text.size()) / (1 << 20);
  text = std::string();
  malloc_trim(0);
  const std::size_t before_scrape = rss();
  reset_peak();
  (void)scrape();
  f.scrape_peak_mib = static_cast<double>(peak() - before_scrape) / (1 << 20);
  std::vector<double> ms;
  for (int run = 0; run < 5; ++run) {
    const auto t0 = Clock::now();
    (void)scrape();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  f.scrape_ms = median(ms);
  return f;
}

Figures ours(const bench::Corpus& corpus) {
  certwatch::exporters::Registry reg;
  auto& not_after = *reg.gauge(names::kCertNotAfter).value();
  auto& not_before = *reg.gauge(names::kCertNotBefore).value();
  auto& info = *reg.gauge(names::kCertInfo).value();
  auto& finding = *reg.gauge(names::kFinding).value();
  return measure(
      corpus.certs,
      [&] {
        for (std::size_t i = 0; i < corpus.certs; ++i) {
          const bench::Cert c(corpus, i);
          not_after.add(c.labels()).set(c.not_before + 90 * 86400);
          not_before.add(c.labels()).set(c.not_before);
          info.add(c.info_labels()).set(1);
          if (c.has_finding)
            finding.add({"file", c.target, "0", "cert.expires_soon", "warning", c.fp}).set(1);
        }
      },
      [&] {
        std::string out;
        reg.render(out);
        return out;
      });
}

prometheus::Labels to_map(std::span<const std::string_view> names_,
                          const std::vector<std::string_view>& values) {
  prometheus::Labels l;
  for (std::size_t i = 0; i < values.size(); ++i) l.emplace(names_[i], values[i]);
  return l;
}

Figures theirs(const bench::Corpus& corpus) {
  prometheus::Registry reg;
  auto family =
      [&](const certwatch::exporters::MetricDef& d) -> prometheus::Family<prometheus::Gauge>& {
    return prometheus::BuildGauge()
        .Name(std::string(d.name))
        .Help(std::string(d.help))
        .Register(reg);
  };
  auto& not_after = family(names::kCertNotAfter);
  auto& not_before = family(names::kCertNotBefore);
  auto& info = family(names::kCertInfo);
  auto& finding = family(names::kFinding);
  return measure(
      corpus.certs,
      [&] {
        for (std::size_t i = 0; i < corpus.certs; ++i) {
          const bench::Cert c(corpus, i);
          const auto labels = to_map(names::kCertLabels, c.labels());
          not_after.Add(labels).Set(c.not_before + 90 * 86400);
          not_before.Add(labels).Set(c.not_before);
          info.Add(to_map(names::kCertInfoLabels, c.info_labels())).Set(1);
          if (c.has_finding)
            finding
                .Add(to_map(names::kFindingLabels,
                            {"file", c.target, "0", "cert.expires_soon", "warning", c.fp}))
                .Set(1);
        }
      },
      [&] {
        // What prometheus-cpp's Exposer does per scrape: Collect, then serialize.
        std::ostringstream os;
        prometheus::TextSerializer().Serialize(os, reg.Collect());
        return os.str();
      });
}

void print(const char* name, const Figures& f) {
  std::printf(
      "  %-16s %8.0f B/cert  %8.1f ms/scrape  %7.1f MiB peak during scrape  %8zu samples  %5.1f "
      "MiB text\n",
      name, f.rss_per_cert, f.scrape_ms, f.scrape_peak_mib, f.samples, f.text_mib);
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t certs = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 100000;
  if (certs == 0) {
    std::fprintf(stderr, "usage: prometheus_cpp_compare [certificates > 0]\n");
    return 2;
  }
  const bench::Corpus corpus{certs};
  std::printf(
      "prometheus_cpp_compare: %zu certificates (RSS grown by the series, median of 5 scrapes)\n",
      certs);
  const Figures a = ours(corpus);
  print("certwatch", a);
  const Figures b = theirs(corpus);
  print("prometheus-cpp", b);
  std::printf(
      "  prometheus-cpp / certwatch: %.1fx RSS per certificate, %.1fx scrape time, %.1fx scrape "
      "peak\n",
      b.rss_per_cert / a.rss_per_cert, b.scrape_ms / a.scrape_ms,
      b.scrape_peak_mib / std::max(a.scrape_peak_mib, 0.1));
  if (a.samples != b.samples) {
    std::fprintf(stderr, "prometheus_cpp_compare: sample counts differ (%zu vs %zu)\n", a.samples,
                 b.samples);
    return 1;
  }
  return 0;
}
