#include "base/text_escape.h"

namespace certwatch {
namespace {

// Bytes of the escaped characters at s[i]: the length of the sequence to escape byte by byte,
// or 0 when s[i] starts a character that stays as it is (`len` receives its length).
std::size_t escaped_here(std::string_view s, std::size_t i, EscapeSet set, std::size_t& len) {
  const auto c = static_cast<unsigned char>(s[i]);
  len = utf8_sequence_length(s, i);
  if (len == 0) {
    len = 1;
    return 1;  // an invalid byte
  }
  if (set == EscapeSet::for_log) {
    if (c < 0x20 || c == 0x7f) return 1;
    // C1 controls U+0080..U+009F (0xC2 0x80..0x9F): CSI and friends for some terminals.
    if (c == 0xC2 && len == 2 && static_cast<unsigned char>(s[i + 1]) < 0xA0) return 2;
  }
  return 0;
}

void append_hex(std::string& out, unsigned char b) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += "\\x";
  out += kHex[b >> 4];
  out += kHex[b & 0xF];
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  const std::size_t left = s.size() - i;
  const auto cont = [&](std::size_t k) { return k < left && (b(k) & 0xC0) == 0x80; };
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;  // UTF-16 surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

bool needs_escape(std::string_view s, EscapeSet set) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {  // printable ASCII: only "\x" matters
      if (c == '\\' && i + 1 < s.size() && s[i + 1] == 'x') return true;
      ++i;
      continue;
    }
    std::size_t len = 0;
    if (escaped_here(s, i, set, len) != 0) return true;
    i += len;
  }
  return false;
}

std::string escape_text(std::string_view s, EscapeSet set) {
  if (!needs_escape(s, set)) return std::string(s);
  std::string out;
  out.reserve(s.size() + 16);
  for (std::size_t i = 0; i < s.size();) {
    if (s[i] == '\\') {
      std::size_t end = i;
      while (end < s.size() && s[end] == '\\') ++end;
      std::size_t len = 0;
      const bool before_escape =
          end < s.size() && (s[end] == 'x' || escaped_here(s, end, set, len) != 0);
      out.append(end - i, '\\');
      if (before_escape) out.append(end - i, '\\');
      i = end;
      continue;
    }
    std::size_t len = 0;
    const std::size_t esc = escaped_here(s, i, set, len);
    if (esc != 0) {
      for (std::size_t k = 0; k < esc; ++k) append_hex(out, static_cast<unsigned char>(s[i + k]));
      i += esc;
    } else {
      out.append(s.substr(i, len));
      i += len;
    }
  }
  return out;
}

std::string decode_text(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    if (s[i] != '\\') {
      out += s[i++];
      continue;
    }
    std::size_t end = i;
    while (end < s.size() && s[end] == '\\') ++end;
    const std::size_t k = end - i;
    const bool x = end < s.size() && s[end] == 'x';
    if (!x) {
      out.append(k, '\\');
    } else if (k % 2 == 0) {
      out.append(k / 2, '\\');
    } else {
      out.append(k / 2, '\\');
      const int hi = end + 2 < s.size() ? hex_value(s[end + 1]) : -1;
      const int lo = end + 2 < s.size() ? hex_value(s[end + 2]) : -1;
      if (hi < 0 || lo < 0) {  // not our output; keep it as it is
        out += "\\x";
        i = end + 1;
        continue;
      }
      out += static_cast<char>(hi * 16 + lo);
      end += 3;
    }
    i = end;
  }
  return out;
}

}  // namespace certwatch
