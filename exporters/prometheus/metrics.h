// Our own small Prometheus exposition layer, in prometheus-cpp's shape: a Registry owns
// Families (one metric name, type, HELP and label names); a Family owns its series, one per
// distinct label-value tuple. Output is the text format 0.0.4 and passes `promtool check
// metrics`.
//
//   exporters::Registry reg;
//   auto& expiry = *reg.gauge(metric_names::kCertNotAfter).value();
//   expiry.add({"file", "/etc/x.pem", "0", "leaf", "mqtt", "Sub CA", "0A1B"}).set(1.7e9);
//   expiry.remove_where("target", "/etc/x.pem");  // the file was deleted
//   std::string body = reg.render();
//
// Guarantees: never two series with the same labels (adding an existing label set returns
// the existing series); HELP text and label values are escaped, and label values that are not
// valid UTF-8 are repaired (U+FFFD), so no certificate field can break the output; NaN and
// infinities print as `NaN`, `+Inf`, `-Inf`.
//
// Storage and speed: a series is stored as its label block already rendered and escaped
// (`{a="x",b="y"}`), which is also its key in an ordered map. Rendering is therefore a walk
// that appends name, key and value to one reserved string with no per-series allocation
// (100,000+ series in a few tens of ms, see bench/metrics_render.cpp), output is sorted and
// deterministic, and the label values are not stored twice.
//
// Thread-safety: none. A Registry and everything in it belong to one thread (the agent's
// io_context thread), which both updates and renders it. References to a Family stay valid
// for the Registry's lifetime; a reference to a series stays valid until that series is
// removed (remove, remove_where, clear).
#pragma once

#include <cstddef>
#include <initializer_list>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "base/result.h"

namespace certwatch::exporters {

// The Content-Type of a /metrics response.
inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

enum class MetricType { gauge, counter };
std::string_view to_string(MetricType t);

// A fixed metric: name, type, HELP and label names. All of ours are in metric_names.h.
struct MetricDef {
  std::string_view name;
  MetricType type = MetricType::gauge;
  std::string_view help;
  std::span<const std::string_view> labels;
};

// ---- catalogue-independent pieces of the text format ----

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool valid_metric_name(std::string_view name);
// [a-zA-Z_][a-zA-Z0-9_]*, and not starting with "__" (reserved for Prometheus).
bool valid_label_name(std::string_view name);
// Label value: `\` -> `\\`, `"` -> `\"`, newline -> `\n`; invalid UTF-8 -> U+FFFD.
void append_escaped_label_value(std::string& out, std::string_view value);
std::string escape_label_value(std::string_view value);
// HELP text: `\` -> `\\`, newline -> `\n`; invalid UTF-8 -> U+FFFD.
void append_escaped_help(std::string& out, std::string_view help);
// Shortest text that parses back to the same double; integers up to 2^53 without exponent;
// `NaN`, `+Inf`, `-Inf`.
void append_value(std::string& out, double value);
std::string format_value(double value);

// ---- metrics ----

class Gauge {
 public:
  void set(double v) { value_ = v; }
  void increment(double by = 1.0) { value_ += by; }
  double value() const { return value_; }

 private:
  double value_ = 0.0;
};

class Counter {
 public:
  // Counters only go up: a negative or NaN `by` is ignored.
  void increment(double by = 1.0) {
    if (by > 0.0) value_ += by;
  }
  double value() const { return value_; }

 private:
  double value_ = 0.0;
};

// One metric name with its series. M is Gauge or Counter.
template <class M>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names);
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;

  static constexpr MetricType type() {
    return std::is_same_v<M, Gauge> ? MetricType::gauge : MetricType::counter;
  }
  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

  // The series with these label values (in label_names() order), created at 0 if absent.
  // Passing another number of values than there are label names is a programming error and
  // throws std::invalid_argument (as prometheus-cpp does); every value is accepted.
  M& add(std::span<const std::string_view> values);
  M& add(std::initializer_list<std::string_view> values) {
    return add(std::span<const std::string_view>(values.begin(), values.size()));
  }
  // The one series of a family without labels.
  M& add() { return add(std::span<const std::string_view>()); }
  // The existing series, or nullptr. Same rule for the number of values.
  M* find(std::span<const std::string_view> values);
  M* find(std::initializer_list<std::string_view> values) {
    return find(std::span<const std::string_view>(values.begin(), values.size()));
  }
  // Removes one series; false if it did not exist.
  bool remove(std::span<const std::string_view> values);
  bool remove(std::initializer_list<std::string_view> values) {
    return remove(std::span<const std::string_view>(values.begin(), values.size()));
  }
  // Removes every series whose label `label` equals `value`; returns how many. 0 if the
  // family has no such label. O(log n) when `label` is the first label, else a scan of every
  // series (300,000 series: ~0.2 s) -- prefer remove() with the exact labels you added.
  std::size_t remove_where(std::string_view label, std::string_view value);
  void clear() { series_.clear(); }
  std::size_t size() const { return series_.size(); }

  // Appends HELP, TYPE and every series; nothing for a family without series.
  void render(std::string& out) const;
  // An upper estimate of render()'s output size, for reserving.
  std::size_t render_size_hint() const;

 private:
  // Builds the escaped label block for `values` into scratch_.
  void build_key(std::span<const std::string_view> values) const;

  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  std::string header_;                            // "# HELP ...\n# TYPE ...\n", built once
  std::map<std::string, M, std::less<>> series_;  // key: rendered label block
  std::size_t key_bytes_ = 0;                     // sum of key sizes, for the size hint
  mutable std::string scratch_;
};

using GaugeFamily = Family<Gauge>;
using CounterFamily = Family<Counter>;

extern template class Family<Gauge>;
extern template class Family<Counter>;

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Registers a family, or returns the existing one when name, type, help and labels are the
  // same. Errors: an invalid metric or label name, a duplicate label name, or a name already
  // registered with another type, help or labels.
  certwatch::Result<GaugeFamily*> add_gauge(std::string_view name, std::string_view help,
                                            std::span<const std::string_view> labels);
  certwatch::Result<CounterFamily*> add_counter(std::string_view name, std::string_view help,
                                                std::span<const std::string_view> labels);
  // From a fixed definition; the family's type must match `def.type`, so pick the call
  // matching the definition (gauge() for MetricType::gauge).
  certwatch::Result<GaugeFamily*> gauge(const MetricDef& def);
  certwatch::Result<CounterFamily*> counter(const MetricDef& def);

  // Removes, in every family that has label `label`, the series where it equals `value`
  // (e.g. every series of a deleted file). Returns how many.
  std::size_t remove_where(std::string_view label, std::string_view value);

  // Appends the whole exposition, families in registration order.
  void render(std::string& out) const;
  std::string render() const;
  std::size_t series_count() const;

 private:
  struct Entry {
    MetricType type;
    std::unique_ptr<GaugeFamily> gauge;
    std::unique_ptr<CounterFamily> counter;
  };
  certwatch::Result<Entry*> add_entry(MetricType type, std::string_view name, std::string_view help,
                                      std::span<const std::string_view> labels);

  std::vector<Entry> families_;
  mutable std::size_t last_render_size_ = 0;
};

}  // namespace certwatch::exporters
