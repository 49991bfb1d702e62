#include "exporters/mqtt/published_keys.h"

#include <charconv>
#include <system_error>

#include "base/hex.h"
#include "pki/deploy/atomic_file.h"
#include "pki/load/read_file.h"

namespace certwatch::exporters::mqtt {
namespace {

constexpr std::size_t kMaxFileBytes = 256u << 20;  // 1 M alerts of 256 bytes

void put(std::string& out, std::string_view field) {
  out += '\t';
  for (char c : field) {
    if (c == '%' || c == '\t' || c == '\r' || c == '\n') {
      static constexpr char kHex[] = "0123456789ABCDEF";
      out += '%';
      out += kHex[(static_cast<unsigned char>(c) >> 4) & 0xF];
      out += kHex[static_cast<unsigned char>(c) & 0xF];
    } else {
      out += c;
    }
  }
}

std::string unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<std::string> split(std::string_view line) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  for (;;) {
    const auto tab = line.find('\t', start);
    fields.push_back(
        unescape(line.substr(start, tab == std::string_view::npos ? tab : tab - start)));
    if (tab == std::string_view::npos) return fields;
    start = tab + 1;
  }
}

std::optional<int64_t> number(const std::string& s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::string render_published(const AlertBook& book, const std::set<std::string>& clearing,
                             const std::set<std::string>& sensors,
                             const std::set<std::string>& unsensors) {
  std::string out;
  for (const auto& [key, a] : book.alerts()) {
    const AlertInfo& i = a.info;
    out += "alert";
    put(out, key);
    put(out, pki::to_string(i.severity));
    put(out, std::to_string(a.since));
    put(out, std::to_string(a.notified_at));
    put(out, i.source);
    put(out, i.target);
    put(out, i.finding_target);
    put(out, i.id);
    put(out, i.subject_cn);
    put(out, i.serial);
    put(out, i.not_after ? std::to_string(*i.not_after) : std::string());
    put(out, i.message);
    out += '\n';
  }
  for (const auto& [word, set] : {std::pair{"clearing", &clearing}, std::pair{"sensor", &sensors},
                                  std::pair{"unsensor", &unsensors}})
    for (const auto& key : *set) {
      out += word;
      put(out, key);
      out += '\n';
    }
  return out;
}

PublishedState parse_published(std::string_view text) {
  PublishedState st;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const auto f = split(text.substr(start, end - start));
    start = end + 1;
    if (f.size() == 2 && !f[1].empty()) {
      if (f[0] == "clearing") st.clearing.insert(f[1]);
      if (f[0] == "sensor") st.sensors.insert(f[1]);
      if (f[0] == "unsensor") st.unsensors.insert(f[1]);
      continue;
    }
    if (f.size() != 13 || f[0] != "alert" || f[1].empty()) continue;
    auto severity = pki::severity_from_string(f[2]);
    auto since = number(f[3]);
    auto notified = number(f[4]);
    if (!severity || !since || !notified) continue;
    PublishedState::Restored r;
    r.info = AlertInfo{f[1], f[5],  f[6],          f[7], f[8], *severity, f[12],
                       f[9], f[10], number(f[11]), {},   {},   0,         std::nullopt};
    r.since = *since;
    r.notified_at = *notified;
    st.alerts.push_back(std::move(r));
  }
  return st;
}

certwatch::Result<PublishedState> read_published(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return PublishedState{};
  auto text = pki::read_regular_file(path, kMaxFileBytes);
  if (!text) return certwatch::make_error(text.error().message);
  return parse_published(*text);
}

certwatch::Result<void> write_published(const std::filesystem::path& path, std::string_view text) {
  if (auto r = pki::make_directories(path.parent_path(), 0700); !r) return r;
  return pki::write_file_atomic(path, text, 0600);
}

}  // namespace certwatch::exporters::mqtt
