#include "exporters/mqtt/topics.h"

#include <algorithm>
#include <cstdio>

namespace certwatch::exporters::mqtt {
namespace {

constexpr std::size_t kReadableMax = 48;

bool plain(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

// The last path component of a target ("/etc/x/leaf.pem#0" -> "leaf.pem#0"), made plain and
// cut to its last kReadableMax characters (the end of a name is the part that differs).
std::string readable_tail(std::string_view target) {
  const auto slash = target.find_last_of('/');
  std::string_view tail = slash == std::string_view::npos ? target : target.substr(slash + 1);
  if (tail.size() > kReadableMax) tail = tail.substr(tail.size() - kReadableMax);
  std::string out;
  out.reserve(tail.size());
  for (char c : tail) out += plain(c) ? c : '_';
  return out.empty() ? "_" : out;
}

std::string hex16(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

uint64_t stable_hash(std::string_view text) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string alert_key(std::string_view finding_target, std::string_view finding_id) {
  std::string id;
  for (char c : finding_id) id += plain(c) ? c : '_';
  std::string both(finding_target);
  both +=
      '\n';  // no finding id holds a newline: (a, b) and (a', b') cannot collide by concatenation
  both += finding_id;
  return readable_tail(finding_target) + "." + id + "." + hex16(stable_hash(both));
}

std::string certificate_alert_key(std::string_view subject_cn, std::string_view sha256,
                                  std::string_view finding_id) {
  std::string id;
  for (char c : finding_id) id += plain(c) ? c : '_';
  std::string both = "certificate\n";  // never equal to a finding target and id of alert_key
  both += sha256;
  both += '\n';
  both += finding_id;
  const std::string_view readable =
      subject_cn.empty() ? sha256.substr(0, std::min<std::size_t>(16, sha256.size())) : subject_cn;
  std::string name;
  // A CN may hold '/': readable_tail would keep only what follows it.
  for (char c : readable) name += c == '/' ? '_' : c;
  return readable_tail(name) + "." + id + "." + hex16(stable_hash(both));
}

std::string sensor_key(std::string_view finding_target) {
  return readable_tail(finding_target) + "." + hex16(stable_hash(finding_target));
}

bool safe_topic_level(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (c == '/' || c == '+' || c == '#' || c < 0x20 || c == 0x7f) return false;
  return true;
}

std::string Topics::discovery(std::string_view node_id, std::string_view key,
                              std::string_view discovery_prefix) const {
  // Home Assistant's object id allows [a-zA-Z0-9_-]: the key's dots become '_'.
  std::string object;
  for (char c : key) object += c == '.' ? '_' : c;
  return std::string(discovery_prefix) + "/sensor/" + std::string(node_id) + "/" + object +
         "/config";
}

}  // namespace certwatch::exporters::mqtt
