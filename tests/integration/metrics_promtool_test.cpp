// Our exposition output against the real parser and linter: `promtool check metrics`.
#include <catch2/catch.hpp>

#include <limits>
#include <string>
#include <vector>

#include "exporters/prometheus/metric_names.h"
#include "exporters/prometheus/metrics.h"
#include "support/fixtures.h"

using namespace certwatch;
using namespace certwatch::exporters;

namespace {

// One series per fixed definition, with label values built from `tricky`.
void fill(Registry& reg, const std::vector<std::string>& tricky) {
  std::size_t n = 0;
  for (const auto& def : metric_names::kAll) {
    std::vector<std::string_view> values;
    for (std::size_t i = 0; i < def.labels.size(); ++i)
      values.push_back(tricky[(n + i) % tricky.size()]);
    ++n;
    if (def.type == MetricType::gauge) {
      auto& f = *reg.gauge(def).value();
      f.add(values).set(static_cast<double>(n) * 1.5);
      values.assign(values.size(), "second");
      f.add(values).set(1);
    } else {
      reg.counter(def).value()->add(values).increment(static_cast<double>(n));
    }
  }
}

}  // namespace

TEST_CASE("promtool accepts our exposition with tricky labels and values",
          "[integration][exporters][promtool]") {
  REQUIRE(testing::have_program("promtool"));  // installed by scripts/setup.sh
  const std::vector<std::string> tricky = {
      "/etc/ssl/certs/server.pem",
      "quote\" and backslash\\ and newline\n",
      "trailing backslash\\",
      "",
      "Zürich ☃ 𝄞 (UTF-8)",
      std::string("broken \xC3\x28 utf8 \x80\xFF"),
      "CN=mqtt.lab.local,O=Lab\\, Inc.",
      "{braces}=,commas,\"=\"",
      "tab\there",
  };
  Registry reg;
  fill(reg, tricky);
  constexpr std::string_view kLabels[] = {"target"};
  auto& special = *reg.add_gauge("certwatch_test_special_values", "Values\\ with \"quotes\"\nin HELP.",
                                 kLabels)
                       .value();
  special.add({"nan"}).set(std::numeric_limits<double>::quiet_NaN());
  special.add({"inf"}).set(std::numeric_limits<double>::infinity());
  special.add({"-inf"}).set(-std::numeric_limits<double>::infinity());
  special.add({"tiny"}).set(-2.5e-300);
  special.add({"big"}).set(4102444800);

  testing::TempDir dir;
  const auto file = dir / "metrics.txt";
  const std::string body = reg.render();
  testing::write_file(file, body);
  auto r = testing::sh("promtool check metrics < '" + file.string() + "'",
                       std::chrono::seconds(30));
  INFO("output:\n" << body);
  INFO("promtool stdout: " << r.out << "\npromtool stderr: " << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.empty());
  CHECK(r.err.empty());
}

TEST_CASE("promtool rejects what our layer refuses to write", "[integration][exporters][promtool]") {
  REQUIRE(testing::have_program("promtool"));  // installed by scripts/setup.sh
  // The oracle is not blind: an unescaped quote, a raw newline and invalid UTF-8 in a label
  // value each fail. (promtool 2.42 does not flag duplicate series; metrics_test covers that.)
  testing::TempDir dir;
  const auto file = dir / "bad.txt";
  const std::string head = "# HELP x_g G.\n# TYPE x_g gauge\n";
  for (const std::string value : {"q\"q", "q\nq", "\xC3\x28"}) {
    testing::write_file(file, head + "x_g{a=\"" + value + "\"} 1\n");
    CHECK(testing::sh("promtool check metrics < '" + file.string() + "'").exit_code != 0);
    // The same value through our layer passes.
    Registry reg;
    constexpr std::string_view kA[] = {"a"};
    reg.add_gauge("x_g", "G.", kA).value()->add({value}).set(1);
    testing::write_file(file, reg.render());
    CHECK(testing::sh("promtool check metrics < '" + file.string() + "'").exit_code == 0);
  }
}
