// Typed reading of yaml-cpp nodes with error collection: the mechanics under config/loader.cpp
// and the schema (config/loader_sections.h, one file per section). Every read either returns a
// value or records one Problem at the node's 1-based line:column and returns nullopt, so the loader
// goes on and reports every problem of the file at once.
//
// Not thread-safe: one YamlReader per load.
#pragma once

#include <utility>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/loader.h"

namespace certwatch::config {

// The closest candidate to `word` within a small edit distance (transpositions count one),
// or empty: the "did you mean" of unknown keys, enum values and references.
std::string closest_match(std::string_view word, std::span<const std::string_view> candidates);

// One value in a mapping (or sequence element) with where it came from.
struct Field {
  std::string where;  // "watch[0].path": the dotted key path used in messages
  YAML::Node value;
  YAML::Mark key_mark;  // of the key (of the element itself for sequence elements)
  // The value's position, or the key's when the value has none (an empty value).
  YAML::Mark mark() const;
};

class YamlReader;

// The fields of one mapping after its keys were checked against the allowed set.
class MapFields {
 public:
  const Field* get(std::string_view key) const;
  // Like get(), but records "missing required key" at the mapping when absent.
  const Field* required(std::string_view key) const;
  bool is_map() const { return is_map_; }
  const YAML::Mark& mark() const { return mark_; }
  const std::string& where() const { return where_; }

 private:
  friend class YamlReader;
  YamlReader* reader_ = nullptr;
  std::string where_;
  YAML::Mark mark_;
  bool is_map_ = false;
  std::vector<std::pair<std::string, Field>> fields_;
};

class YamlReader {
 public:
  enum class Need { nothing, file, directory, file_or_directory };

  YamlReader(std::string file, std::filesystem::path base_dir, LoadOptions options)
      : file_(std::move(file)), base_dir_(std::move(base_dir)), options_(options) {}

  void problem(const YAML::Mark& mark, std::string message);
  std::vector<Problem> take_problems();  // sorted by position
  bool has_problems() const { return !problems_.empty(); }
  const std::string& file() const { return file_; }

  // A mapping whose keys must be among `keys`: reports wrong type, unknown keys (with a
  // suggestion) and duplicate keys. An empty value (YAML null) is an empty mapping.
  MapFields map(const Field& f, std::initializer_list<std::string_view> keys);
  // A sequence's elements, named where[i]. Empty value: empty list. Wrong type: reported.
  std::vector<Field> list(const Field& f);

  std::optional<std::string> string(const Field& f);  // a non-empty scalar
  std::optional<bool> boolean(const Field& f);
  std::optional<int64_t> integer(const Field& f, int64_t min, int64_t max);
  // Durations "90d", "1h30m" (base/duration.h); at least `min`.
  std::optional<Seconds> duration(const Field& f, Seconds min,
                                  std::optional<Seconds> max = std::nullopt);
  // Also accepts "250ms".
  std::optional<Milliseconds> duration_ms(const Field& f, Milliseconds min);
  // One of `names`; the result is the index into `names`.
  std::optional<size_t> choice(const Field& f, std::span<const std::string_view> names);
  // Absolute, normalised; relative paths are resolved against the config's directory.
  // `need` says what must exist (checked only when LoadOptions::check_files).
  std::optional<std::filesystem::path> path(const Field& f, Need need);
  std::optional<std::vector<std::filesystem::path>> paths(const Field& f, Need need);
  std::optional<std::vector<std::string>> strings(const Field& f);

 private:
  bool scalar(const Field& f, const char* expected);

  std::string file_;
  std::filesystem::path base_dir_;
  LoadOptions options_;
  std::vector<std::pair<std::pair<int, int>, Problem>> problems_;
};

}  // namespace certwatch::config
