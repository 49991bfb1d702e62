#include "exporters/prometheus/metrics.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "exporters/prometheus/metric_names.h"

using namespace certwatch;
using namespace certwatch::exporters;

namespace {
constexpr std::string_view kTwoLabels[] = {"target", "role"};
}

TEST_CASE("render gives the exact text format 0.0.4", "[exporters][metrics]") {
  Registry reg;
  auto& expiry = *reg.add_gauge("test_expiry_timestamp_seconds", "Expiry.", kTwoLabels).value();
  auto& errors = reg.add_counter("test_errors_total", "Errors.", {}).value()->add();
  expiry.add({"/b.pem", "leaf"}).set(1700000000);
  expiry.add({"/a.pem", "root"}).set(1.5);
  errors.increment();
  errors.increment(2);
  errors.increment(-5);  // counters never go down
  CHECK(reg.render() ==
        "# HELP test_expiry_timestamp_seconds Expiry.\n"
        "# TYPE test_expiry_timestamp_seconds gauge\n"
        "test_expiry_timestamp_seconds{target=\"/a.pem\",role=\"root\"} 1.5\n"
        "test_expiry_timestamp_seconds{target=\"/b.pem\",role=\"leaf\"} 1700000000\n"
        "# HELP test_errors_total Errors.\n"
        "# TYPE test_errors_total counter\n"
        "test_errors_total 3\n");
  CHECK(reg.series_count() == 3);
}

TEST_CASE("a family without series renders nothing", "[exporters][metrics]") {
  Registry reg;
  auto& f = *reg.add_gauge("test_empty", "Nothing yet.", kTwoLabels).value();
  CHECK(reg.render().empty());
  f.add({"x", "y"});
  CHECK(reg.render().find("test_empty{target=\"x\",role=\"y\"} 0\n") != std::string::npos);
}

TEST_CASE("label values and HELP are escaped", "[exporters][metrics]") {
  CHECK(escape_label_value("plain") == "plain");
  CHECK(escape_label_value("a\"b") == "a\\\"b");
  CHECK(escape_label_value("C:\\path\\") == "C:\\\\path\\\\");
  CHECK(escape_label_value("two\nlines") == "two\\nlines");
  CHECK(escape_label_value("tab\tstays") == "tab\tstays");
  CHECK(escape_label_value("Zürich ☃ 𝄞") == "Zürich ☃ 𝄞");  // valid UTF-8 untouched
  // Invalid UTF-8 (a stray continuation byte, a truncated sequence, an overlong '/', a
  // surrogate) is written "\xNN" (base/text_escape.h), whose backslash the text format escapes:
  // Prometheus can parse the scrape and two names that differ in such bytes stay two series.
  CHECK(escape_label_value("a\x80z") == "a\\\\x80z");
  CHECK(escape_label_value("a\xE2\x98") == "a\\\\xe2\\\\x98");
  CHECK(escape_label_value("\xC0\xAF") == "\\\\xc0\\\\xaf");
  CHECK(escape_label_value("\xED\xA0\x80") == "\\\\xed\\\\xa0\\\\x80");
  CHECK(escape_label_value("a\xFF") != escape_label_value("a\xFE"));
  CHECK(escape_label_value("a\\xff") == "a\\\\\\\\xff");  // a literal "\xff" stays apart

  std::string help;
  append_escaped_help(help, "Say \"hi\"\\now\nplease");
  CHECK(help == "Say \"hi\"\\\\now\\nplease");  // quotes stay in HELP

  Registry reg;
  auto& f = *reg.add_gauge("test_escape", "Line one\nline \\two", kTwoLabels).value();
  f.add({"/x \"quoted\"\n", "a\\b"}).set(1);
  CHECK(reg.render() ==
        "# HELP test_escape Line one\\nline \\\\two\n"
        "# TYPE test_escape gauge\n"
        "test_escape{target=\"/x \\\"quoted\\\"\\n\",role=\"a\\\\b\"} 1\n");
}

TEST_CASE("values: NaN, infinities, integers and fractions", "[exporters][metrics]") {
  CHECK(format_value(std::numeric_limits<double>::quiet_NaN()) == "NaN");
  CHECK(format_value(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(format_value(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(format_value(0) == "0");
  CHECK(format_value(-0.0) == "-0");
  CHECK(format_value(1) == "1");
  CHECK(format_value(-42) == "-42");
  CHECK(format_value(4102444800.0) == "4102444800");
  CHECK(format_value(0.1) == "0.1");
  CHECK(format_value(-2.5e-7) == "-2.5e-07");
  CHECK(format_value(1e300) == "1e+300");
  // Shortest form still parses back to the same double.
  const double third = 1.0 / 3.0;
  CHECK(std::stod(format_value(third)) == third);
}

TEST_CASE("never two series with the same labels", "[exporters][metrics]") {
  Registry reg;
  auto& f = *reg.add_gauge("test_dup", "Dup.", kTwoLabels).value();
  Gauge& a = f.add({"/t", "leaf"});
  a.set(7);
  Gauge& b = f.add({"/t", "leaf"});
  CHECK(&a == &b);
  CHECK(b.value() == 7);
  CHECK(f.size() == 1);
  // Values that differ only by characters needing escapes are different series.
  f.add({"/t\"", "leaf"});
  f.add({"/t\\", "leaf"});
  CHECK(f.size() == 3);
  // Every rendered series line is unique.
  const std::string out = reg.render();
  std::set<std::string> lines;
  std::size_t n = 0, start = 0;
  for (std::size_t nl; (nl = out.find('\n', start)) != std::string::npos; start = nl + 1) {
    const std::string line = out.substr(start, nl - start);
    if (line.starts_with("#")) continue;
    lines.insert(line.substr(0, line.rfind(' ')));
    ++n;
  }
  CHECK(n == 3);
  CHECK(lines.size() == 3);
}

TEST_CASE("series are removed one by one or by label", "[exporters][metrics]") {
  Registry reg;
  auto& expiry = *reg.add_gauge("test_not_after", "X.", kTwoLabels).value();
  constexpr std::string_view kFindingLabels[] = {"target", "id"};
  auto& finding = *reg.add_gauge("test_finding", "Y.", kFindingLabels).value();
  constexpr std::string_view kOther[] = {"role"};
  auto& other = *reg.add_gauge("test_other", "Z.", kOther).value();
  expiry.add({"/a", "leaf"}).set(1);
  expiry.add({"/a", "root"}).set(2);
  expiry.add({"/a\"b", "leaf"}).set(3);  // tricky value: must not match "/a"
  expiry.add({"/ab", "leaf"}).set(4);
  finding.add({"/a", "chain.order"}).set(1);
  finding.add({"/b", "chain.order"}).set(1);
  other.add({"/a"}).set(1);  // label "role", not "target": untouched

  CHECK(expiry.remove({"/a", "root"}));
  CHECK_FALSE(expiry.remove({"/a", "root"}));
  CHECK(expiry.find({"/a", "root"}) == nullptr);
  CHECK(expiry.find({"/a", "leaf"}) != nullptr);

  CHECK(reg.remove_where("target", "/a") == 2);
  CHECK(expiry.size() == 2);
  CHECK(expiry.find({"/a\"b", "leaf"})->value() == 3);
  CHECK(expiry.find({"/ab", "leaf"})->value() == 4);
  CHECK(finding.size() == 1);
  CHECK(other.size() == 1);
  CHECK(expiry.remove_where("role", "leaf") == 2);
  CHECK(expiry.remove_where("no_such_label", "x") == 0);
  CHECK(reg.render().find("test_not_after") == std::string::npos);

  // First-label removal (a range of the sorted keys) with prefix-like neighbours.
  finding.add({"/b", "x"}).set(1);
  finding.add({"/b\"", "x"}).set(1);
  finding.add({"/b\\", "x"}).set(1);
  finding.add({"/bc", "x"}).set(1);
  finding.add({"/", "x"}).set(1);
  CHECK(finding.remove_where("target", "/b") == 2);
  CHECK(finding.size() == 4);
  CHECK(finding.find({"/b\"", "x"}) != nullptr);
  CHECK(finding.find({"/b\\", "x"}) != nullptr);
  CHECK(finding.find({"/bc", "x"}) != nullptr);
  CHECK(finding.find({"/", "x"}) != nullptr);
  CHECK(finding.remove_where("target", "/b\\") == 1);
  CHECK(finding.find({"/b\"", "x"}) != nullptr);

  // Removal by a value with escapes in a later label position.
  expiry.add({"/c", "we\\ird\"\n"}).set(5);
  expiry.add({"/c", "we\\ird"}).set(6);
  CHECK(expiry.remove_where("role", "we\\ird\"\n") == 1);
  CHECK(expiry.find({"/c", "we\\ird"})->value() == 6);
}

TEST_CASE("names are validated and families are unique", "[exporters][metrics]") {
  CHECK(valid_metric_name("certwatch_x"));
  CHECK(valid_metric_name("ns:sub_x9"));
  CHECK_FALSE(valid_metric_name(""));
  CHECK_FALSE(valid_metric_name("9x"));
  CHECK_FALSE(valid_metric_name("a-b"));
  CHECK_FALSE(valid_metric_name("a b"));
  CHECK(valid_label_name("subject_cn"));
  CHECK_FALSE(valid_label_name("__name__"));
  CHECK_FALSE(valid_label_name("a:b"));
  CHECK_FALSE(valid_label_name("1a"));

  Registry reg;
  CHECK_FALSE(reg.add_gauge("bad-name", "x", {}).ok());
  constexpr std::string_view kBadLabel[] = {"ok", "not ok"};
  CHECK_FALSE(reg.add_gauge("test_x", "x", kBadLabel).ok());
  constexpr std::string_view kDupLabel[] = {"a", "a"};
  CHECK_FALSE(reg.add_gauge("test_x", "x", kDupLabel).ok());

  auto first = reg.add_gauge("test_x", "x", kTwoLabels);
  REQUIRE(first.ok());
  auto again = reg.add_gauge("test_x", "x", kTwoLabels);
  REQUIRE(again.ok());
  CHECK(*first == *again);
  CHECK_FALSE(reg.add_counter("test_x", "x", kTwoLabels).ok());
  CHECK_FALSE(reg.add_gauge("test_x", "other help", kTwoLabels).ok());
  CHECK_FALSE(reg.add_gauge("test_x", "x", {}).ok());

  // A wrong number of label values is a programming error.
  CHECK_THROWS_AS((*first)->add({"only one"}), std::invalid_argument);
  CHECK((*first)->size() == 0);
}

TEST_CASE("the fixed metric definitions are valid and distinct", "[exporters][metrics]") {
  Registry reg;
  std::set<std::string_view> names;
  for (const auto& def : metric_names::kAll) {
    INFO(def.name);
    CHECK(names.insert(def.name).second);
    CHECK(def.name.starts_with("certwatch_"));
    CHECK_FALSE(def.help.empty());
    // promtool's lint: counters end in _total, nothing else does.
    CHECK(def.name.ends_with("_total") == (def.type == MetricType::counter));
    if (def.type == MetricType::gauge)
      CHECK(reg.gauge(def).ok());
    else
      CHECK(reg.counter(def).ok());
  }
  // Per-certificate gauges carry only the bounded label set.
  CHECK(metric_names::kCertNotAfter.labels.size() == 7);
  for (auto label : metric_names::kCertNotAfter.labels) {
    CHECK(label != "sans");
    CHECK(label != "fingerprint_sha256");
  }
  CHECK_FALSE(reg.counter(metric_names::kCertNotAfter).ok());  // type mismatch
  // A finding names its certificate by fingerprint, appended after the labels it always had
  // so that selectors written against source, target, index, id and severity still match.
  const std::vector<std::string_view> finding(metric_names::kFinding.labels.begin(),
                                              metric_names::kFinding.labels.end());
  CHECK(finding == std::vector<std::string_view>{"source", "target", "index", "id", "severity",
                                                 "fingerprint_sha256"});
}
