// The plaintext dialogues that precede a TLS handshake on STARTTLS ports (SMTP RFC 3207, IMAP
// RFC 3501 6.2.1, POP3 RFC 2595 4, FTP RFC 4217 4, PostgreSQL's SSLRequest), written sans-I/O:
// the dialogue says what to send and when to read, the prober owns the socket and the one
// deadline of the whole dialogue and feeds back whatever arrived, split anywhere. It never asks for
// a byte past the server's go-ahead, because the TLS handshake follows on the same socket; a server
// that sent bytes after its go-ahead has failed (they would be taken for TLS, or are an injection).
// Everything the server says is bounded (kMaxStartTlsInput in all, kMaxStartTlsLine per line)
// and quoted escaped and cut in failure texts. Thread-safety: one dialogue per connection,
// used from one thread at a time.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "config/config.h"

namespace certwatch::agent::probe {

// Which plaintext dialogue precedes the TLS handshake: the endpoint protocols
// (config::Protocol) that have one. Names are config::kProtocolNames'.
enum class StartTlsProtocol { smtp, imap, pop3, ftp, postgres };
// The dialogue of `p`; nullopt for tls and mqtt (nothing precedes their handshake).
std::optional<StartTlsProtocol> starttls_of(config::Protocol p);
// "smtp" -> smtp ...; nullopt for anything else (including "tls", "mqtt").
std::optional<StartTlsProtocol> parse_starttls_protocol(std::string_view name);
const char* to_string(StartTlsProtocol p);

// What the prober must do next.
struct StartTlsStep {
  std::string send;    // bytes to write first (may be empty)
  bool read = false;   // then read some bytes and pass them to received()
  bool ready = false;  // the server agreed: start the TLS handshake now (read nothing more)
};
// The next step, or why the dialogue failed (ErrorKind::refused; the server's line quoted,
// escaped, bounded).
using StartTlsNext = certwatch::Result<StartTlsStep>;

inline constexpr std::size_t kMaxStartTlsInput = 64 * 1024;  // everything the server may send
inline constexpr std::size_t kMaxStartTlsLine = 8 * 1024;    // one line of it (SMTP allows 512)

class StartTlsDialogue {
 public:
  // client_name: the name for EHLO (smtp); "certwatch" if empty.
  StartTlsDialogue(StartTlsProtocol protocol, std::string client_name);
  StartTlsNext start();  // first step (postgres sends SSLRequest at once; others read the greeting)
  StartTlsNext received(
      std::string_view bytes);  // feed what arrived (any split: byte-by-byte must work)
  StartTlsNext closed();        // the server closed the connection
  // Where the dialogue stands, for the prober's text when its deadline passes mid-dialogue:
  // "the greeting", "the reply to EHLO"...; and the bytes the server sent so far.
  const std::string& waiting_for() const { return waiting_for_; }
  std::size_t received_bytes() const { return total_; }

 private:
  // Where the dialogue stands; `waiting_for_` names it for a failure text.
  enum class Phase { not_started, greeting, capabilities, starttls, postgres, done };

  StartTlsNext on_line(std::string_view line);
  StartTlsNext on_smtp(std::string_view line);
  StartTlsNext on_imap(std::string_view line);
  StartTlsNext on_pop3(std::string_view line);
  StartTlsNext on_ftp(std::string_view line);
  StartTlsNext on_postgres();
  // Collects one SMTP or FTP reply (RFC 5321 4.2.1, RFC 959 4.2): true when `line` ended it;
  // an error (the line quoted) for a line that is no reply line.
  certwatch::Result<bool> collect_reply(std::string_view line, bool strict);
  StartTlsStep ask(std::string command, Phase next, std::string waiting_for);
  StartTlsNext finish(StartTlsNext last);
  StartTlsNext fail(std::string why);

  StartTlsProtocol protocol_;
  std::string client_name_;
  Phase phase_ = Phase::not_started;
  std::string waiting_for_;            // "the greeting", "the reply to EHLO"...
  std::string pending_;                // bytes of a line not yet complete
  std::size_t total_ = 0;              // bytes received in all
  std::vector<std::string> reply_;     // lines of the SMTP/FTP reply or POP3 CAPA list so far
  bool offers_starttls_ = false;       // seen in EHLO / CAPABILITY / CAPA
  bool capabilities_known_ = false;    // IMAP: from the greeting's [CAPABILITY ...]
  std::optional<StartTlsNext> final_;  // once ready or failed, every later call returns it
};

}  // namespace certwatch::agent::probe
