// The STARTTLS dialogues (see starttls.h). Line framing, the input bounds and the go-ahead rule
// live in received(); each protocol only judges complete lines. Replies are matched loosely
// where servers differ in harmless ways (case, bare LF, untagged IMAP data) and strictly where
// a mistake would let plaintext reach the TLS handshake.
#include "agent/probe/starttls.h"

#include <utility>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>

#include "base/text_escape.h"

namespace certwatch::agent::probe {
namespace {

constexpr std::size_t kQuoteBytes = 200;  // of server text, in a failure text

// Server text as it may appear in a failure text: cut, control characters escaped.
std::string quote(std::string_view s) {
  const bool cut = s.size() > kQuoteBytes;
  std::string out = certwatch::escape_text(s.substr(0, kQuoteBytes), certwatch::EscapeSet::for_log);
  if (cut) out += "...";
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && upper(s.substr(0, prefix.size())) == upper(prefix);
}

// The first word of `s` (up to a space), upper-cased: an EHLO keyword, a CAPA capability.
std::string first_word(std::string_view s) {
  return upper(s.substr(0, s.find(' ')));
}

// True when the space-separated list `words` holds `word` (case-insensitive).
bool lists(std::string_view words, std::string_view word) {
  const std::string up = upper(words), want = upper(word);
  std::size_t i = 0;
  while (i < up.size()) {
    const std::size_t end = std::min(up.find(' ', i), up.size());
    if (up.compare(i, end - i, want) == 0) return true;
    i = end + 1;
  }
  return false;
}

// "ddd" followed by nothing, ' ' or '-' (RFC 5321 4.2, RFC 959 4.2).
bool is_reply_line(std::string_view line) {
  if (line.size() < 3) return false;
  for (std::size_t i = 0; i < 3; ++i)
    if (!std::isdigit(static_cast<unsigned char>(line[i]))) return false;
  return line.size() == 3 || line[3] == ' ' || line[3] == '-';
}

// The EHLO argument: a domain or an address literal. Anything else could inject a command.
std::string ehlo_name(const std::string& name) {
  std::string out;
  for (const char c : name)
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '[' ||
        c == ']' || c == ':')
      out += c;
  return out.empty() ? "certwatch" : out;
}

StartTlsStep read_more() {
  StartTlsStep s;
  s.read = true;
  return s;
}

StartTlsStep go_ahead() {
  StartTlsStep s;
  s.ready = true;
  return s;
}

// PostgreSQL's SSLRequest: length 8, code 1234 5679 (protocol docs, "SSL Session Encryption").
const std::string kSslRequest{"\x00\x00\x00\x08\x04\xd2\x16\x2f", 8};
constexpr const char* kImapCapabilityTag = "cw1";
constexpr const char* kImapStartTlsTag = "cw2";

}  // namespace

namespace {

// Each dialogue with the endpoint protocol it serves, whose name it takes.
constexpr std::array<std::pair<StartTlsProtocol, config::Protocol>, 5> kDialogues{{
    {StartTlsProtocol::smtp, config::Protocol::smtp},
    {StartTlsProtocol::imap, config::Protocol::imap},
    {StartTlsProtocol::pop3, config::Protocol::pop3},
    {StartTlsProtocol::ftp, config::Protocol::ftp},
    {StartTlsProtocol::postgres, config::Protocol::postgres},
}};

}  // namespace

std::optional<StartTlsProtocol> starttls_of(config::Protocol p) {
  for (const auto& [dialogue, protocol] : kDialogues)
    if (protocol == p) return dialogue;
  return std::nullopt;
}

std::optional<StartTlsProtocol> parse_starttls_protocol(std::string_view name) {
  const auto protocol = config::parse_protocol(name);
  return protocol ? starttls_of(*protocol) : std::nullopt;
}

const char* to_string(StartTlsProtocol p) {
  for (const auto& [dialogue, protocol] : kDialogues)
    if (dialogue == p) return config::to_string(protocol);
  return "?";
}

StartTlsDialogue::StartTlsDialogue(StartTlsProtocol protocol, std::string client_name)
    : protocol_(protocol), client_name_(ehlo_name(client_name)) {}

StartTlsNext StartTlsDialogue::start() {
  if (final_) return *final_;
  if (phase_ != Phase::not_started) return fail("start() called twice");
  if (protocol_ == StartTlsProtocol::postgres)
    return ask(kSslRequest, Phase::postgres, "the answer to SSLRequest");
  phase_ = Phase::greeting;
  waiting_for_ = "the greeting";
  return read_more();
}

StartTlsNext StartTlsDialogue::received(std::string_view bytes) {
  if (final_ && *final_ && (*final_)->ready && !bytes.empty()) {
    final_.reset();
    return fail("the server sent " + std::to_string(bytes.size()) +
                " bytes after its go-ahead: " + quote(bytes));
  }
  if (final_) return *final_;
  if (phase_ == Phase::not_started) return fail("received() before start()");
  total_ += bytes.size();
  if (total_ > kMaxStartTlsInput)
    return fail("the server sent more than " + std::to_string(kMaxStartTlsInput) +
                " bytes without finishing the dialogue (waiting for " + waiting_for_ + ")");
  pending_.append(bytes);
  if (phase_ == Phase::postgres) return on_postgres();
  for (;;) {
    const std::size_t eol = pending_.find('\n');
    if (eol == std::string::npos && pending_.size() <= kMaxStartTlsLine) return read_more();
    if (eol == std::string::npos || eol > kMaxStartTlsLine)
      return fail("a line longer than " + std::to_string(kMaxStartTlsLine) +
                  " bytes while waiting for " + waiting_for_ + ": " + quote(pending_));
    std::string line = pending_.substr(0, eol);
    pending_.erase(0, eol + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    StartTlsNext step = on_line(line);
    if (!step) return finish(std::move(step));
    if (step->ready && !pending_.empty())
      return fail("the server sent " + std::to_string(pending_.size()) +
                  " bytes after its go-ahead (" + quote(line) + "): " + quote(pending_));
    if (step->ready) return finish(std::move(step));
    if (!step->send.empty() && !pending_.empty()) {
      // The server spoke before our command: its next reply cannot be matched to it.
      const std::string command = step->send.substr(0, step->send.find('\r'));
      return fail("the server sent " + std::to_string(pending_.size()) +
                  " unasked bytes before our " + command + ": " + quote(pending_));
    }
    if (!step->send.empty()) return step;
  }
}

StartTlsNext StartTlsDialogue::closed() {
  if (final_) return *final_;
  if (phase_ == Phase::postgres && !pending_.empty() && pending_.front() == 'E')
    return fail("postgres answered with an error and closed the connection: " +
                quote(pending_.substr(1)));
  std::string why = "the server closed the connection while we waited for " + waiting_for_;
  if (!reply_.empty()) why += " (after " + quote(reply_.back()) + ")";
  if (!pending_.empty()) why += " (in the middle of a line: " + quote(pending_) + ")";
  return fail(why);
}

StartTlsNext StartTlsDialogue::on_line(std::string_view line) {
  switch (protocol_) {
    case StartTlsProtocol::smtp:
      return on_smtp(line);
    case StartTlsProtocol::imap:
      return on_imap(line);
    case StartTlsProtocol::pop3:
      return on_pop3(line);
    case StartTlsProtocol::ftp:
      return on_ftp(line);
    case StartTlsProtocol::postgres:
      break;  // not line-based: on_postgres()
  }
  return fail("internal error: a line for a protocol without lines");
}

certwatch::Result<bool> StartTlsDialogue::collect_reply(std::string_view line, bool strict) {
  if (reply_.empty()) {
    if (!is_reply_line(line)) return make_error(quote(line), ErrorKind::invalid_input);
    reply_.emplace_back(line);
    return line.size() == 3 || line[3] == ' ';
  }
  const std::string_view code = std::string_view(reply_.front()).substr(0, 3);
  const bool same_code = line.substr(0, 3) == code && is_reply_line(line);
  if (strict && !same_code)  // SMTP: every line of a reply carries its code
    return make_error(quote(line), ErrorKind::invalid_input);
  reply_.emplace_back(line);
  return same_code && (line.size() == 3 || line[3] == ' ');  // FTP: text lines until "ddd "
}

StartTlsNext StartTlsDialogue::on_smtp(std::string_view line) {
  const auto complete = collect_reply(line, true);
  if (!complete)
    return fail("not an SMTP reply while waiting for " + waiting_for_ + ": " +
                complete.error().message);
  if (!*complete) return read_more();
  const std::string code = reply_.front().substr(0, 3);
  const std::string last = quote(reply_.back());
  switch (phase_) {
    case Phase::greeting:
      if (code != "220") return fail("the server refused the session: " + last);
      return ask("EHLO " + client_name_ + "\r\n", Phase::capabilities, "the reply to EHLO");
    case Phase::capabilities:
      if (code != "250") return fail("EHLO refused: " + last);
      // The first line is the server's name; each later one is an extension keyword.
      for (std::size_t i = 1; i < reply_.size(); ++i)
        if (reply_[i].size() > 4 && first_word(std::string_view(reply_[i]).substr(4)) == "STARTTLS")
          offers_starttls_ = true;
      if (!offers_starttls_) return fail("server does not offer STARTTLS (not in its EHLO reply)");
      return ask("STARTTLS\r\n", Phase::starttls, "the reply to STARTTLS");
    default:
      if (code != "220") return fail("STARTTLS refused: " + last);
      return go_ahead();
  }
}

StartTlsNext StartTlsDialogue::on_imap(std::string_view line) {
  const std::string cap_tag = std::string(kImapCapabilityTag) + " ",
                    tls_tag = std::string(kImapStartTlsTag) + " ";
  const auto capabilities_then_starttls = [&]() -> StartTlsNext {
    if (!offers_starttls_)
      return fail("server does not offer STARTTLS (not in its CAPABILITY list)");
    return ask(tls_tag + "STARTTLS\r\n", Phase::starttls, "the reply to STARTTLS");
  };
  if (phase_ == Phase::greeting) {
    if (starts_with_nocase(line, "* OK")) {
      // A greeting may carry the capabilities (RFC 3501 7.1): "* OK [CAPABILITY IMAP4rev1 STARTTLS]
      // ...".
      const std::string up = upper(line);
      const std::size_t at = up.find("[CAPABILITY ");
      const std::size_t end = at == std::string::npos ? at : up.find(']', at);
      if (end != std::string::npos) {
        offers_starttls_ = lists(std::string_view(up).substr(at + 12, end - at - 12), "STARTTLS");
        return capabilities_then_starttls();
      }
      return ask(cap_tag + "CAPABILITY\r\n", Phase::capabilities, "the reply to CAPABILITY");
    }
    if (starts_with_nocase(line, "* PREAUTH"))
      return fail("the server greets as PREAUTH, where STARTTLS is not allowed (RFC 3501 6.2.1): " +
                  quote(line));
    if (starts_with_nocase(line, "* BYE"))
      return fail("the server refused the session: " + quote(line));
    return fail("not an IMAP greeting: " + quote(line));
  }
  const std::string& tag = phase_ == Phase::capabilities ? cap_tag : tls_tag;
  if (starts_with_nocase(line, "* ")) {  // untagged data before the tagged status
    if (phase_ == Phase::capabilities && starts_with_nocase(line, "* CAPABILITY "))
      offers_starttls_ = offers_starttls_ || lists(line.substr(13), "STARTTLS");
    return read_more();
  }
  if (!starts_with_nocase(line, tag))
    return fail("not an IMAP reply while waiting for " + waiting_for_ + ": " + quote(line));
  const bool ok = starts_with_nocase(line.substr(tag.size()), "OK");
  if (phase_ == Phase::capabilities)
    return ok ? capabilities_then_starttls() : fail("CAPABILITY refused: " + quote(line));
  return ok ? go_ahead() : fail("STARTTLS refused: " + quote(line));
}

StartTlsNext StartTlsDialogue::on_pop3(std::string_view line) {
  const bool ok = starts_with_nocase(line, "+OK"), err = starts_with_nocase(line, "-ERR");
  switch (phase_) {
    case Phase::greeting:
      if (ok) return ask("CAPA\r\n", Phase::capabilities, "the reply to CAPA");
      if (err) return fail("the server refused the session: " + quote(line));
      return fail("not a POP3 greeting: " + quote(line));
    case Phase::capabilities:
      if (reply_.empty()) {
        // A server without CAPA (RFC 2449) may still know STLS: ask it.
        if (err) return ask("STLS\r\n", Phase::starttls, "the reply to STLS");
        if (!ok) return fail("not a POP3 reply to CAPA: " + quote(line));
        reply_.emplace_back(line);
        return read_more();
      }
      if (line == ".") {
        if (!offers_starttls_)
          return fail("server does not offer STARTTLS (no STLS in its CAPA list)");
        return ask("STLS\r\n", Phase::starttls, "the reply to STLS");
      }
      // Multi-line replies are dot-stuffed (RFC 1939 3).
      if (first_word(line.substr(!line.empty() && line.front() == '.' ? 1 : 0)) == "STLS")
        offers_starttls_ = true;
      reply_.emplace_back(line);
      return read_more();
    default:
      if (ok) return go_ahead();
      if (err) return fail("STLS refused: " + quote(line));
      return fail("not a POP3 reply to STLS: " + quote(line));
  }
}

StartTlsNext StartTlsDialogue::on_ftp(std::string_view line) {
  const auto complete = collect_reply(line, false);
  if (!complete)
    return fail("not an FTP reply while waiting for " + waiting_for_ + ": " +
                complete.error().message);
  if (!*complete) return read_more();
  const std::string code = reply_.front().substr(0, 3);
  const std::string last = quote(reply_.back());
  if (phase_ == Phase::greeting) {
    if (code == "120") {  // "ready in nnn minutes": the 220 follows (RFC 959 5.4)
      reply_.clear();
      return read_more();
    }
    if (code != "220") return fail("the server refused the session: " + last);
    return ask("AUTH TLS\r\n", Phase::starttls, "the reply to AUTH TLS");
  }
  if (code != "234") return fail("AUTH TLS refused: " + last);
  return go_ahead();
}

StartTlsNext StartTlsDialogue::on_postgres() {
  if (pending_.empty()) return read_more();
  const char answer = pending_.front();
  if (answer == 'S') {
    if (pending_.size() > 1)
      return fail("the server sent " + std::to_string(pending_.size() - 1) +
                  " bytes after its go-ahead ('S'): " + quote(pending_.substr(1)));
    return finish(go_ahead());
  }
  if (answer == 'N') return fail("postgres answered 'N': the server does not accept SSL");
  if (answer != 'E')
    return fail("not a postgres server: it answered SSLRequest with " + quote(pending_));
  // An ErrorResponse: 'E', int32 length (itself included), fields of a type byte and a C string.
  if (pending_.size() < 5) return read_more();
  uint32_t length = 0;
  for (std::size_t i = 1; i < 5; ++i)
    length = (length << 8) | static_cast<unsigned char>(pending_[i]);
  if (length < 4 || length > kMaxStartTlsInput)
    return fail("postgres answered with a malformed error (length " + std::to_string(length) + ")");
  if (pending_.size() < 1 + std::size_t{length}) return read_more();
  std::string severity, message;
  for (std::size_t i = 5; i < 1 + std::size_t{length} && pending_[i] != '\0';) {
    const char type = pending_[i];
    const std::size_t end = std::min(pending_.find('\0', i + 1), std::size_t{length} + 1);
    const std::string value = pending_.substr(i + 1, end - i - 1);
    if (type == 'S') severity = value;
    if (type == 'M') message = value;
    i = end + 1;
  }
  return fail("postgres answered SSLRequest with an error: " +
              quote(severity + (severity.empty() ? "" : ": ") + message));
}

StartTlsStep StartTlsDialogue::ask(std::string command, Phase next, std::string waiting_for) {
  phase_ = next;
  waiting_for_ = std::move(waiting_for);
  reply_.clear();
  StartTlsStep s = read_more();
  s.send = std::move(command);
  return s;
}

StartTlsNext StartTlsDialogue::finish(StartTlsNext last) {
  phase_ = Phase::done;
  if (last) {
    last->read = false;
    last->send.clear();
  }
  final_ = last;
  return last;
}

StartTlsNext StartTlsDialogue::fail(std::string why) {
  return finish(make_error(std::move(why), ErrorKind::refused));
}

}  // namespace certwatch::agent::probe
