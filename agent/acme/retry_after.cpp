#include "agent/acme/retry_after.h"

#include <algorithm>
#include <cctype>
#include <ctime>

namespace certwatch::agent::acme {

std::optional<int64_t> parse_retry_after(const std::string& value, int64_t now_unix) {
  if (value.empty()) return std::nullopt;
  if (value.size() <= 10 && std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c); }))
    return std::stoll(value);
  std::tm tm{};
  const char* end = ::strptime(value.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return std::max<int64_t>(0, static_cast<int64_t>(::timegm(&tm)) - now_unix);
}

}  // namespace certwatch::agent::acme
