#include "base/duration.h"

#include <utility>

#include <array>
#include <ctime>
#include <limits>

namespace certwatch {
namespace {

constexpr std::array<std::pair<char, int64_t>, 5> kUnits{
    {{'w', 7 * 86400}, {'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}}};

int64_t unit_seconds(char c) {
  for (const auto& [u, s] : kUnits)
    if (u == c) return s;
  return 0;
}

}  // namespace

Result<int64_t> parse_duration(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  if (text.empty()) return make_error("empty duration");
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] < '0' || text[i] > '9')
      return make_error("bad duration " + quoted + ": expected a number (e.g. 90d, 12h, 30s)");
    int64_t n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      const int digit = text[i] - '0';
      if (n > (kMax - digit) / 10) return make_error("duration " + quoted + " is too large");
      n = n * 10 + digit;
      ++i;
    }
    if (i == text.size())
      return make_error("bad duration " + quoted + ": missing unit (w, d, h, m or s)");
    const int64_t unit = unit_seconds(text[i]);
    if (unit == 0)
      return make_error("bad duration " + quoted + ": unknown unit '" + std::string(1, text[i]) +
                        "' (w, d, h, m or s)");
    ++i;
    if (n > (kMax - total) / unit) return make_error("duration " + quoted + " is too large");
    total += n * unit;
  }
  return total;
}

std::string format_duration(int64_t seconds) {
  if (seconds == 0) return "0s";
  std::string out;
  if (seconds < 0) {
    out = "-";
    seconds = -seconds;
  }
  // Weeks are skipped on output: "14d" reads better than "2w".
  for (const auto& [u, s] : kUnits) {
    if (u == 'w' || seconds < s) continue;
    out += std::to_string(seconds / s);
    out.push_back(u);
    seconds %= s;
  }
  return out;
}

namespace {

std::string format_utc(int64_t posix_seconds, const char* format) {
  const time_t t = static_cast<time_t>(posix_seconds);
  struct tm tm {};
  if (gmtime_r(&t, &tm) == nullptr) return std::to_string(posix_seconds);
  char buf[40];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

}  // namespace

std::string format_timestamp(int64_t posix_seconds) {
  return format_utc(posix_seconds, "%Y-%m-%d %H:%M UTC");
}

std::string format_iso8601(int64_t posix_seconds) {
  return format_utc(posix_seconds, "%Y-%m-%dT%H:%M:%SZ");
}

}  // namespace certwatch
