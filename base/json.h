// A small streaming JSON writer (no DOM): enough for the CLI's --json, the HTTP API and MQTT
// payloads. Strings are escaped per RFC 8259; the caller keeps nesting balanced.
//
//   JsonWriter w;
//   w.begin_object().key("id").value("chain.order").key("n").value(3).end_object();
//   std::string s = w.str();
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace certwatch {

class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);
  JsonWriter& value(std::string_view v);
  JsonWriter& value(const char* v) { return value(std::string_view(v)); }
  JsonWriter& value(const std::string& v) { return value(std::string_view(v)); }
  JsonWriter& value(int64_t v);
  JsonWriter& value(int v) { return value(static_cast<int64_t>(v)); }
  JsonWriter& value(double v);  // NaN/Inf are written as null
  JsonWriter& value(bool v);
  JsonWriter& null();
  // Inserts already-serialised JSON as one value.
  JsonWriter& raw(std::string_view json);

  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void separate();
  std::string out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
};

void json_escape(std::string& out, std::string_view s);

}  // namespace certwatch
