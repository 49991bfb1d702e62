#include "exporters/prometheus/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <stdexcept>

#include "base/text_escape.h"

namespace certwatch::exporters {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Appends `s` escaping the characters in the text format's sense; `quote` also escapes `"`
// (label values do, HELP does not). Runs of plain bytes are appended in one go.
void append_escaped_valid(std::string& out, std::string_view s, bool quote) {
  std::size_t run = 0;  // start of the pending run of bytes copied as they are
  std::size_t i = 0;
  const auto flush = [&](std::size_t end) { out.append(s.data() + run, end - run); };
  while (i < s.size()) {
    const char c = s[i];
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x80) {
      if (c == '\\' || c == '\n' || (quote && c == '"')) {
        flush(i);
        out += '\\';
        out += c == '\n' ? 'n' : c;
        run = i + 1;
      }
      ++i;
      continue;
    }
    const std::size_t n = certwatch::utf8_sequence_length(s, i);
    if (n == 0) {
      flush(i);
      out += kReplacement;
      run = ++i;
    } else {
      i += n;
    }
  }
  flush(s.size());
}

// Bytes that are not UTF-8 become "\xNN" (base/text_escape.h) before the text format's own
// escaping: the same reversible spelling as the JSON API and the status page, so two files
// whose names differ only in such bytes stay two series.
void append_escaped(std::string& out, std::string_view s, bool quote) {
  if (certwatch::needs_escape(s)) {
    append_escaped_valid(out, certwatch::escape_text(s), quote);
    return;
  }
  append_escaped_valid(out, s, quote);
}

// The escaped value of the label at `index` inside a rendered block `{a="x",b="y"}`, whose
// label names are `names`. Escaped values never contain an unescaped `"`, so the value ends
// at the first quote that is not preceded by an escaping backslash.
std::string_view nth_escaped_value(std::string_view key, const std::vector<std::string>& names,
                                   std::size_t index) {
  std::size_t p = 1;  // after '{'
  for (std::size_t j = 0;; ++j) {
    p += names[j].size() + 2;  // name="
    const std::size_t start = p;
    while (p < key.size() && key[p] != '"') p += key[p] == '\\' ? 2 : 1;
    if (j == index) return key.substr(start, p - start);
    p += 2;  // ",
  }
}

}  // namespace

std::string_view to_string(MetricType t) {
  return t == MetricType::counter ? "counter" : "gauge";
}

bool valid_metric_name(std::string_view name) {
  if (name.empty() || !(is_name_start(name[0]) || name[0] == ':')) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return is_name_start(c) || is_digit(c) || c == ':'; });
}

bool valid_label_name(std::string_view name) {
  if (name.empty() || !is_name_start(name[0]) || name.starts_with("__")) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return is_name_start(c) || is_digit(c); });
}

void append_escaped_label_value(std::string& out, std::string_view value) {
  append_escaped(out, value, true);
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  append_escaped_label_value(out, value);
  return out;
}

void append_escaped_help(std::string& out, std::string_view help) {
  append_escaped(out, help, false);
}

void append_value(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
    return;
  }
  if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[32];
  std::to_chars_result r;
  constexpr double kExact = 9007199254740992.0;  // 2^53: every integer below is exact
  const bool negative_zero = value == 0.0 && std::signbit(value);
  if (value == std::trunc(value) && std::fabs(value) < kExact && !negative_zero)
    r = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(value));
  else
    r = std::to_chars(buf, buf + sizeof buf, value);  // shortest round-trip form
  out.append(buf, r.ptr);
}

std::string format_value(double value) {
  std::string out;
  append_value(out, value);
  return out;
}

// ---- Family ----

template <class M>
Family<M>::Family(std::string name, std::string help, std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {
  header_ = "# HELP " + name_ + ' ';
  append_escaped_help(header_, help_);
  header_ += "\n# TYPE " + name_ + ' ';
  header_ += to_string(type());
  header_ += '\n';
}

template <class M>
void Family<M>::build_key(std::span<const std::string_view> values) const {
  if (values.size() != label_names_.size())
    throw std::invalid_argument(fmt::format("{}: {} label values for {} labels", name_,
                                            values.size(), label_names_.size()));
  scratch_.clear();
  if (values.empty()) return;
  scratch_ += '{';
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) scratch_ += ',';
    scratch_ += label_names_[i];
    scratch_ += "=\"";
    append_escaped_label_value(scratch_, values[i]);
    scratch_ += '"';
  }
  scratch_ += '}';
}

template <class M>
M& Family<M>::add(std::span<const std::string_view> values) {
  build_key(values);
  auto it = series_.find(std::string_view(scratch_));
  if (it != series_.end()) return it->second;
  key_bytes_ += scratch_.size();
  return series_.emplace_hint(it, scratch_, M{})->second;
}

template <class M>
M* Family<M>::find(std::span<const std::string_view> values) {
  build_key(values);
  auto it = series_.find(std::string_view(scratch_));
  return it == series_.end() ? nullptr : &it->second;
}

template <class M>
bool Family<M>::remove(std::span<const std::string_view> values) {
  build_key(values);
  auto it = series_.find(std::string_view(scratch_));
  if (it == series_.end()) return false;
  key_bytes_ -= it->first.size();
  series_.erase(it);
  return true;
}

template <class M>
std::size_t Family<M>::remove_where(std::string_view label, std::string_view value) {
  const auto pos = std::find(label_names_.begin(), label_names_.end(), label);
  if (pos == label_names_.end()) return 0;
  const auto index = static_cast<std::size_t>(pos - label_names_.begin());
  std::size_t removed = 0;
  if (index == 0) {
    // Keys sort by their first label: the matches are one range starting with
    // `{label="escaped"`. The closing quote ends the prefix, and escaped values never hold a
    // bare quote, so "/a" does not match "/ab" or "/a\"b".
    scratch_ = "{" + label_names_[0] + "=\"";
    append_escaped_label_value(scratch_, value);
    scratch_ += '"';
    auto it = series_.lower_bound(std::string_view(scratch_));
    while (it != series_.end() && it->first.starts_with(scratch_)) {
      key_bytes_ -= it->first.size();
      it = series_.erase(it);
      ++removed;
    }
    return removed;
  }
  scratch_.clear();
  append_escaped_label_value(scratch_, value);
  for (auto it = series_.begin(); it != series_.end();) {
    if (nth_escaped_value(it->first, label_names_, index) == scratch_) {
      key_bytes_ -= it->first.size();
      it = series_.erase(it);
      ++removed;
    } else {
      ++it;
    }
  }
  return removed;
}

template <class M>
std::size_t Family<M>::render_size_hint() const {
  if (series_.empty()) return 0;
  // name + key + ' ' + value (at most 24 characters) + '\n' per series.
  return header_.size() + key_bytes_ + series_.size() * (name_.size() + 26);
}

template <class M>
void Family<M>::render(std::string& out) const {
  if (series_.empty()) return;
  out += header_;
  for (const auto& [key, metric] : series_) {
    out += name_;
    out += key;
    out += ' ';
    append_value(out, metric.value());
    out += '\n';
  }
}

template class Family<Gauge>;
template class Family<Counter>;

// ---- Registry ----

certwatch::Result<Registry::Entry*> Registry::add_entry(MetricType type, std::string_view name,
                                                        std::string_view help,
                                                        std::span<const std::string_view> labels) {
  if (!valid_metric_name(name))
    return certwatch::make_error(fmt::format("invalid metric name '{}'", name));
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (!valid_label_name(labels[i]))
      return certwatch::make_error(fmt::format("{}: invalid label name '{}'", name, labels[i]));
    if (std::find(labels.begin(), labels.begin() + static_cast<std::ptrdiff_t>(i), labels[i]) !=
        labels.begin() + static_cast<std::ptrdiff_t>(i))
      return certwatch::make_error(fmt::format("{}: duplicate label name '{}'", name, labels[i]));
  }
  for (auto& e : families_) {
    const std::string& existing_name = e.gauge ? e.gauge->name() : e.counter->name();
    if (existing_name != name) continue;
    const std::string& existing_help = e.gauge ? e.gauge->help() : e.counter->help();
    const auto& existing_labels = e.gauge ? e.gauge->label_names() : e.counter->label_names();
    const bool same =
        e.type == type && existing_help == help &&
        std::equal(existing_labels.begin(), existing_labels.end(), labels.begin(), labels.end());
    if (!same)
      return certwatch::make_error(
          fmt::format("metric '{}' is already registered with another type, help or labels", name));
    return &e;
  }
  std::vector<std::string> label_names(labels.begin(), labels.end());
  Entry e{type, nullptr, nullptr};
  if (type == MetricType::gauge)
    e.gauge =
        std::make_unique<GaugeFamily>(std::string(name), std::string(help), std::move(label_names));
  else
    e.counter = std::make_unique<CounterFamily>(std::string(name), std::string(help),
                                                std::move(label_names));
  families_.push_back(std::move(e));
  return &families_.back();
}

certwatch::Result<GaugeFamily*> Registry::add_gauge(std::string_view name, std::string_view help,
                                                    std::span<const std::string_view> labels) {
  auto e = add_entry(MetricType::gauge, name, help, labels);
  if (!e) return e.error();
  return (*e)->gauge.get();
}

certwatch::Result<CounterFamily*> Registry::add_counter(std::string_view name,
                                                        std::string_view help,
                                                        std::span<const std::string_view> labels) {
  auto e = add_entry(MetricType::counter, name, help, labels);
  if (!e) return e.error();
  return (*e)->counter.get();
}

certwatch::Result<GaugeFamily*> Registry::gauge(const MetricDef& def) {
  if (def.type != MetricType::gauge)
    return certwatch::make_error(fmt::format("metric '{}' is not a gauge", def.name));
  return add_gauge(def.name, def.help, def.labels);
}

certwatch::Result<CounterFamily*> Registry::counter(const MetricDef& def) {
  if (def.type != MetricType::counter)
    return certwatch::make_error(fmt::format("metric '{}' is not a counter", def.name));
  return add_counter(def.name, def.help, def.labels);
}

std::size_t Registry::remove_where(std::string_view label, std::string_view value) {
  std::size_t removed = 0;
  for (auto& e : families_)
    removed +=
        e.gauge ? e.gauge->remove_where(label, value) : e.counter->remove_where(label, value);
  return removed;
}

void Registry::render(std::string& out) const {
  std::size_t hint = 0;
  for (const auto& e : families_)
    hint += e.gauge ? e.gauge->render_size_hint() : e.counter->render_size_hint();
  out.reserve(out.size() + std::max(hint, last_render_size_));
  const std::size_t start = out.size();
  for (const auto& e : families_) {
    if (e.gauge)
      e.gauge->render(out);
    else
      e.counter->render(out);
  }
  last_render_size_ = out.size() - start;
}

std::string Registry::render() const {
  std::string out;
  render(out);
  return out;
}

std::size_t Registry::series_count() const {
  std::size_t n = 0;
  for (const auto& e : families_) n += e.gauge ? e.gauge->size() : e.counter->size();
  return n;
}

}  // namespace certwatch::exporters
