#include "config/yaml_reader.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <system_error>

#include "base/duration.h"

namespace certwatch::config {
namespace fs = std::filesystem;

namespace {

const char* type_name(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

std::string quote(std::string_view s) {
  return "'" + std::string(s) + "'";
}

// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

std::string with_suggestion(std::string message, std::string_view word,
                            std::span<const std::string_view> candidates) {
  const auto best = closest_match(word, candidates);
  if (!best.empty()) message += " (did you mean " + quote(best) + "?)";
  return message;
}

}  // namespace

std::string closest_match(std::string_view word, std::span<const std::string_view> candidates) {
  // Up to a third of the word may differ (at least one edit, at most three).
  const size_t limit = std::clamp<size_t>(word.size() / 3, 1, 3);
  std::string best;
  size_t best_distance = limit + 1;
  for (const auto c : candidates) {
    const size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = std::string(c);
    }
  }
  return best;
}

YAML::Mark Field::mark() const {
  if (value.IsDefined() && !value.IsNull()) {
    const auto m = value.Mark();
    if (!m.is_null()) return m;
  }
  return key_mark;
}

const Field* MapFields::get(std::string_view key) const {
  for (const auto& [k, f] : fields_)
    if (k == key) return &f;
  return nullptr;
}

const Field* MapFields::required(std::string_view key) const {
  const Field* f = get(key);
  // A mapping that was not a mapping already has its error; do not pile on.
  if (f == nullptr && is_map_) {
    const std::string where = where_.empty() ? "" : " in " + where_;
    reader_->problem(mark_, "missing required key " + quote(key) + where);
  }
  return f;
}

void YamlReader::problem(const YAML::Mark& mark, std::string message) {
  const int line = mark.is_null() ? 0 : mark.line + 1;
  const int column = mark.is_null() ? 0 : mark.column + 1;
  problems_.push_back({{line, column}, Problem{file_, line, column, std::move(message)}});
}

std::vector<Problem> YamlReader::take_problems() {
  std::stable_sort(problems_.begin(), problems_.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Problem> out;
  for (auto& p : problems_) out.push_back(std::move(p.second));
  problems_.clear();
  return out;
}

MapFields YamlReader::map(const Field& f, std::initializer_list<std::string_view> keys) {
  MapFields m;
  m.reader_ = this;
  m.where_ = f.where;
  m.mark_ = f.mark();
  const std::string in = f.where.empty() ? "" : " in " + f.where;
  if (!f.value.IsDefined() || f.value.IsNull()) {
    m.is_map_ = true;
    return m;
  }
  if (!f.value.IsMap()) {
    problem(f.mark(), (f.where.empty() ? std::string("the file") : f.where) +
                          ": expected a mapping, got " + type_name(f.value));
    return m;
  }
  m.is_map_ = true;
  const std::span<const std::string_view> allowed(keys.begin(), keys.size());
  for (const auto& kv : f.value) {
    const YAML::Mark key_mark = kv.first.Mark();
    if (!kv.first.IsScalar()) {
      problem(key_mark, "expected a plain key" + in + ", got " + type_name(kv.first));
      continue;
    }
    const std::string key = kv.first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      problem(key_mark, with_suggestion("unknown key " + quote(key) + in, key, allowed));
      continue;
    }
    if (const Field* first = m.get(key)) {
      problem(key_mark, "duplicate key " + quote(key) + in + " (first at line " +
                            std::to_string(first->key_mark.line + 1) + ")");
      continue;
    }
    const std::string where = f.where.empty() ? key : f.where + "." + key;
    m.fields_.emplace_back(key, Field{where, kv.second, key_mark});
  }
  return m;
}

std::vector<Field> YamlReader::list(const Field& f) {
  std::vector<Field> out;
  if (!f.value.IsDefined() || f.value.IsNull()) return out;
  if (!f.value.IsSequence()) {
    problem(f.mark(), f.where + ": expected a list, got " + type_name(f.value));
    return out;
  }
  size_t i = 0;
  for (const auto& element : f.value) {
    const std::string where = f.where + "[" + std::to_string(i++) + "]";
    YAML::Mark m = element.Mark();
    if (m.is_null()) m = f.mark();
    out.push_back(Field{where, element, m});
  }
  return out;
}

bool YamlReader::scalar(const Field& f, const char* expected) {
  if (f.value.IsScalar()) return true;
  problem(f.mark(), f.where + ": expected " + expected + ", got " + type_name(f.value));
  return false;
}

std::optional<std::string> YamlReader::string(const Field& f) {
  if (!scalar(f, "a string")) return std::nullopt;
  if (f.value.Scalar().empty()) {
    problem(f.mark(), f.where + ": must not be empty");
    return std::nullopt;
  }
  return f.value.Scalar();
}

std::optional<bool> YamlReader::boolean(const Field& f) {
  if (!scalar(f, "true or false")) return std::nullopt;
  const std::string& s = f.value.Scalar();
  if (s == "true") return true;
  if (s == "false") return false;
  problem(f.mark(), f.where + ": expected true or false, got " + quote(s));
  return std::nullopt;
}

std::optional<int64_t> YamlReader::integer(const Field& f, int64_t min, int64_t max) {
  if (!scalar(f, "a number")) return std::nullopt;
  const std::string& s = f.value.Scalar();
  int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) {
    problem(f.mark(), f.where + ": expected a whole number, got " + quote(s));
    return std::nullopt;
  }
  if (v < min || v > max) {
    problem(f.mark(), f.where + ": " + s + " is out of range (" + std::to_string(min) + "-" +
                          std::to_string(max) + ")");
    return std::nullopt;
  }
  return v;
}

std::optional<Seconds> YamlReader::duration(const Field& f, Seconds min,
                                            std::optional<Seconds> max) {
  if (!scalar(f, "a duration (e.g. 30s, 10m, 12h, 90d)")) return std::nullopt;
  auto parsed = certwatch::parse_duration(f.value.Scalar());
  if (!parsed) {
    problem(f.mark(), f.where + ": " + parsed.error().message);
    return std::nullopt;
  }
  if (Seconds{*parsed} < min) {
    problem(f.mark(), f.where + ": must be at least " + certwatch::format_duration(min.count()));
    return std::nullopt;
  }
  if (max && Seconds{*parsed} > *max) {
    problem(f.mark(), f.where + ": must be at most " + certwatch::format_duration(max->count()));
    return std::nullopt;
  }
  return Seconds{*parsed};
}

std::optional<Milliseconds> YamlReader::duration_ms(const Field& f, Milliseconds min) {
  if (!scalar(f, "a duration (e.g. 200ms, 1s)")) return std::nullopt;
  const std::string& s = f.value.Scalar();
  Milliseconds value{0};
  if (s.size() > 2 && s.ends_with("ms")) {
    int64_t n = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size() - 2, n);
    if (ec != std::errc() || ptr != s.data() + s.size() - 2 || n < 0) {
      problem(f.mark(), f.where + ": bad duration " + quote(s) + ": expected e.g. 200ms or 1s");
      return std::nullopt;
    }
    value = Milliseconds{n};
  } else {
    auto parsed = certwatch::parse_duration(s);
    if (!parsed || *parsed > INT64_MAX / 1000) {
      problem(f.mark(), f.where + ": " +
                            (parsed ? "bad duration " + quote(s) + ": too large"
                                    : parsed.error().message + " or N ms"));
      return std::nullopt;
    }
    value = Seconds{*parsed};
  }
  if (value < min) {
    problem(f.mark(), f.where + ": must be at least " + std::to_string(min.count()) + "ms");
    return std::nullopt;
  }
  return value;
}

std::optional<size_t> YamlReader::choice(const Field& f, std::span<const std::string_view> names) {
  std::string expected = "one of";
  for (size_t i = 0; i < names.size(); ++i)
    expected += std::string(i == 0 ? " " : ", ") + std::string(names[i]);
  if (!scalar(f, expected.c_str())) return std::nullopt;
  const std::string& s = f.value.Scalar();
  const auto it = std::find(names.begin(), names.end(), s);
  if (it != names.end()) return static_cast<size_t>(it - names.begin());
  problem(f.mark(), with_suggestion(f.where + ": bad value " + quote(s) + ", expected " + expected,
                                    s, names));
  return std::nullopt;
}

std::optional<fs::path> YamlReader::path(const Field& f, Need need) {
  auto text = string(f);
  if (!text) return std::nullopt;
  fs::path p(*text);
  if (p.is_relative()) p = base_dir_ / p;
  p = p.lexically_normal();
  if (!p.has_filename() && p.has_parent_path() && p != p.root_path())
    p = p.parent_path();  // "/etc/x/" and "/etc/x" are one watch path
  if (!options_.check_files || need == Need::nothing) return p;
  std::error_code ec;
  const auto st = fs::status(p, ec);
  if (!fs::exists(st)) {
    problem(f.mark(), f.where + ": " + p.string() + " does not exist");
    return std::nullopt;
  }
  if (need == Need::file && fs::is_directory(st)) {
    problem(f.mark(), f.where + ": " + p.string() + " is a directory, expected a file");
    return std::nullopt;
  }
  // A FIFO or a device named as a file would block or never end when read (issue 15).
  if ((need == Need::file || need == Need::file_or_directory) && !fs::is_directory(st) &&
      !fs::is_regular_file(st)) {
    problem(f.mark(), f.where + ": " + p.string() + " is not a regular file");
    return std::nullopt;
  }
  if (need == Need::directory && !fs::is_directory(st)) {
    problem(f.mark(), f.where + ": " + p.string() + " is not a directory");
    return std::nullopt;
  }
  return p;
}

std::optional<std::vector<fs::path>> YamlReader::paths(const Field& f, Need need) {
  if (f.value.IsDefined() && !f.value.IsNull() && !f.value.IsSequence()) {
    list(f);  // reports the wrong type
    return std::nullopt;
  }
  std::vector<fs::path> out;
  bool ok = true;
  for (const auto& element : list(f)) {
    auto p = path(element, need);
    if (p) out.push_back(std::move(*p));
    ok = ok && p.has_value();
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::vector<std::string>> YamlReader::strings(const Field& f) {
  if (f.value.IsDefined() && !f.value.IsNull() && !f.value.IsSequence()) {
    list(f);
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (const auto& element : list(f)) {
    auto s = string(element);
    if (s) out.push_back(std::move(*s));
    ok = ok && s.has_value();
  }
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace certwatch::config
