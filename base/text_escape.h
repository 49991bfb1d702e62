// One reversible way to turn arbitrary bytes (file names are bytes, certificate names are
// whatever the issuer wrote) into text, shared by every output: Prometheus labels, JSON, the
// status page and the log. Each byte that is not allowed becomes "\xNN" (lower-case hex); a
// run of backslashes right before an "x" or before an escaped byte is doubled, so that a
// literal "\x" in a name can never be mistaken for an escape. Text with nothing to escape
// (valid UTF-8, no "\x") is returned unchanged, so ordinary names look as they are.
// decode_text() undoes it exactly: distinct inputs always give distinct outputs.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace certwatch {

enum class EscapeSet {
  invalid_utf8,  // outputs with their own syntax escaping (JSON, HTML, Prometheus)
  for_log,       // also C0/C1 control characters and DEL: a log line stays one line, and a
                 // name cannot forge a journald "<0>" prefix or a terminal escape sequence
};

// True when escape_text would change `s` (the fast path of every caller).
bool needs_escape(std::string_view s, EscapeSet set = EscapeSet::invalid_utf8);
std::string escape_text(std::string_view s, EscapeSet set = EscapeSet::invalid_utf8);
// The bytes escape_text was given (for tests and for tools reading our output).
std::string decode_text(std::string_view s);

// Length of the valid UTF-8 sequence starting at s[i] (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF), or 0 if it is not valid.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i);

}  // namespace certwatch
