// One hexadecimal digit's value, either case; -1 for anything else. For the decoders that
// read hex back (fingerprints, percent-escapes, RFC 2253 \HH escapes).
// Thread-safety: pure.
#pragma once

namespace certwatch {

constexpr int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace certwatch
