// The STARTTLS dialogues without sockets: server transcripts are fed whole, byte by byte and in
// odd chunks, and the commands the dialogue sent are compared with the RFCs' exchanges. The
// dialogues against real sockets and a TLS handshake are tests/integration/probe_starttls_test.cpp.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

#include "agent/probe/starttls.h"

using namespace certwatch::agent::probe;
using namespace std::string_literals;

namespace {

// A dialogue's answer as the checks read it: a failed one sends, reads and is ready for nothing.
bool reads(const StartTlsNext& n) { return n && n->read; }
bool is_ready(const StartTlsNext& n) { return n && n->ready; }
std::string sends(const StartTlsNext& n) { return n ? n->send : std::string(); }

struct Played {
  std::string sent;   // everything the dialogue asked to write, in order
  StartTlsNext last = StartTlsStep{};  // what ended it (ready or failed), or the last step when the script ran out
  std::size_t turns = 0;
};

// Plays a server: each turn is what the server writes when the dialogue next reads, delivered in
// chunks of `chunk` bytes (0: whole). When the turns run out and the dialogue still reads, the
// server closes if `close_at_end`.
Played play(StartTlsProtocol p, const std::vector<std::string>& turns, std::size_t chunk = 0,
            bool close_at_end = true, const std::string& name = "probe.example") {
  StartTlsDialogue d(p, name);
  Played out;
  out.last = d.start();
  out.sent += sends(out.last);
  while (reads(out.last)) {
    if (out.turns == turns.size()) {
      if (close_at_end) out.last = d.closed();
      break;
    }
    const std::string& bytes = turns[out.turns++];
    const std::size_t n = chunk == 0 ? bytes.size() : chunk;
    for (std::size_t i = 0; i < bytes.size() && reads(out.last); i += n) {
      out.last = d.received(std::string_view(bytes).substr(i, n));
      out.sent += sends(out.last);
      if (!sends(out.last).empty()) break;  // a server answers only after the command
    }
  }
  return out;
}

std::string failure_of(const Played& p) { return p.last ? "(no failure)" : p.last.error().message; }

const std::vector<std::size_t> kChunks{0, 1, 2, 3, 7};

}  // namespace

TEST_CASE("STARTTLS protocol names", "[agent][probe][starttls]") {
  for (const char* name : {"smtp", "imap", "pop3", "ftp", "postgres"}) {
    const auto p = parse_starttls_protocol(name);
    REQUIRE(p);
    CHECK(std::string(to_string(*p)) == name);
  }
  for (const char* name : {"tls", "mqtt", "", "SMTP ", "smtps", "imap4"}) CHECK_FALSE(parse_starttls_protocol(name));
}

TEST_CASE("SMTP: greeting, EHLO, STARTTLS, in any split", "[agent][probe][starttls]") {
  const std::vector<std::string> server{"220-mail.example ESMTP\r\n220 ready\r\n",
                                        "250-mail.example hello\r\n250-PIPELINING\r\n250-starttls\r\n250 8BITMIME\r\n",
                                        "220 2.0.0 Ready to start TLS\r\n"};
  for (const std::size_t chunk : kChunks) {
    const Played p = play(StartTlsProtocol::smtp, server, chunk);
    INFO("chunk " << chunk << ": " << failure_of(p));
    CHECK(is_ready(p.last));
    CHECK_FALSE(reads(p.last));
    CHECK(p.sent == "EHLO probe.example\r\nSTARTTLS\r\n");
    CHECK(p.turns == 3);
  }
  // Bare LF line ends are taken too; an empty client name is "certwatch".
  const Played lf = play(StartTlsProtocol::smtp, {"220 x\n", "250-x\n250 STARTTLS\n", "220 go\n"}, 0, true, "");
  CHECK(is_ready(lf.last));
  CHECK(lf.sent == "EHLO certwatch\r\nSTARTTLS\r\n");
}

TEST_CASE("SMTP refusals are named", "[agent][probe][starttls]") {
  const std::string greet = "220 mail.example ESMTP\r\n", ehlo = "250-mail.example\r\n250 STARTTLS\r\n";
  CHECK(failure_of(play(StartTlsProtocol::smtp, {greet, ehlo, "454 TLS not available\r\n"})) ==
        "STARTTLS refused: 454 TLS not available");
  CHECK(failure_of(play(StartTlsProtocol::smtp, {greet, "250-mail.example\r\n250-SIZE 10\r\n250 STARTTLSX\r\n"})) ==
        "server does not offer STARTTLS (not in its EHLO reply)");
  CHECK(failure_of(play(StartTlsProtocol::smtp, {greet, "502 5.5.1 EHLO not implemented\r\n"})) ==
        "EHLO refused: 502 5.5.1 EHLO not implemented");
  CHECK(failure_of(play(StartTlsProtocol::smtp, {"554-go away\r\n554 no service\r\n"})) ==
        "the server refused the session: 554 no service");
  // An EHLO argument cannot carry a second command.
  const Played injected = play(StartTlsProtocol::smtp, {greet, ehlo, "220 go\r\n"}, 0, true, "a\r\nRCPT TO:<x> b");
  CHECK(injected.sent == "EHLO aRCPTTO:xb\r\nSTARTTLS\r\n");
}

TEST_CASE("IMAP: capabilities from the greeting or from CAPABILITY", "[agent][probe][starttls]") {
  for (const std::size_t chunk : kChunks) {
    INFO("chunk " << chunk);
    const Played direct =
        play(StartTlsProtocol::imap, {"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n",
                                      "cw2 OK Begin TLS negotiation now\r\n"}, chunk);
    CHECK(is_ready(direct.last));
    CHECK(direct.sent == "cw2 STARTTLS\r\n");
    const Played asked = play(StartTlsProtocol::imap,
                              {"* OK IMAP4rev1 ready\r\n",
                               "* CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN\r\n* OK extra data\r\ncw1 OK done\r\n",
                               "* OK still here\r\ncw2 OK go\r\n"}, chunk);
    CHECK(is_ready(asked.last));
    CHECK(asked.sent == "cw1 CAPABILITY\r\ncw2 STARTTLS\r\n");
  }
}

TEST_CASE("IMAP refusals are named", "[agent][probe][starttls]") {
  CHECK(failure_of(play(StartTlsProtocol::imap, {"* OK ready\r\n", "* CAPABILITY IMAP4rev1\r\ncw1 OK\r\n"})) ==
        "server does not offer STARTTLS (not in its CAPABILITY list)");
  CHECK(failure_of(play(StartTlsProtocol::imap, {"* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n",
                                                 "cw2 NO TLS not available\r\n"})) ==
        "STARTTLS refused: cw2 NO TLS not available");
  CHECK(failure_of(play(StartTlsProtocol::imap, {"* OK ready\r\n", "cw1 BAD what\r\n"})) ==
        "CAPABILITY refused: cw1 BAD what");
  CHECK(failure_of(play(StartTlsProtocol::imap, {"* PREAUTH welcome back\r\n"})).find("PREAUTH") != std::string::npos);
  CHECK(failure_of(play(StartTlsProtocol::imap, {"* BYE too busy\r\n"})) == "the server refused the session: * BYE too busy");
  CHECK(failure_of(play(StartTlsProtocol::imap, {"+OK dovecot pop3\r\n"})) == "not an IMAP greeting: +OK dovecot pop3");
  CHECK(failure_of(play(StartTlsProtocol::imap, {"* OK ready\r\n", "zz9 OK\r\n"})) ==
        "not an IMAP reply while waiting for the reply to CAPABILITY: zz9 OK");
}

TEST_CASE("POP3: CAPA then STLS", "[agent][probe][starttls]") {
  for (const std::size_t chunk : kChunks) {
    INFO("chunk " << chunk);
    const Played p = play(StartTlsProtocol::pop3,
                          {"+OK POP3 ready\r\n", "+OK Capability list follows\r\nUSER\r\nSTLS\r\n..dot\r\n.\r\n",
                           "+OK Begin TLS\r\n"}, chunk);
    CHECK(is_ready(p.last));
    CHECK(p.sent == "CAPA\r\nSTLS\r\n");
  }
  // A server without CAPA (RFC 2449) is asked for STLS all the same.
  const Played old = play(StartTlsProtocol::pop3, {"+OK\r\n", "-ERR unknown command\r\n", "+OK go\r\n"});
  CHECK(is_ready(old.last));
  CHECK(old.sent == "CAPA\r\nSTLS\r\n");
  // "..STLS" is the dot-stuffed line ".STLS", which is no STLS.
  CHECK(failure_of(play(StartTlsProtocol::pop3, {"+OK\r\n", "+OK\r\n..STLS\r\n.\r\n"})) ==
        "server does not offer STARTTLS (no STLS in its CAPA list)");
  CHECK(failure_of(play(StartTlsProtocol::pop3, {"+OK\r\n", "+OK\r\nUSER\r\n.\r\n"})) ==
        "server does not offer STARTTLS (no STLS in its CAPA list)");
  CHECK(failure_of(play(StartTlsProtocol::pop3, {"+OK\r\n", "+OK\r\nSTLS\r\n.\r\n", "-ERR TLS not available\r\n"})) ==
        "STLS refused: -ERR TLS not available");
  CHECK(failure_of(play(StartTlsProtocol::pop3, {"-ERR go away\r\n"})) == "the server refused the session: -ERR go away");
  CHECK(failure_of(play(StartTlsProtocol::pop3, {"220 smtp\r\n"})) == "not a POP3 greeting: 220 smtp");
}

TEST_CASE("FTP: multi-line greeting, AUTH TLS", "[agent][probe][starttls]") {
  for (const std::size_t chunk : kChunks) {
    INFO("chunk " << chunk);
    const Played p = play(StartTlsProtocol::ftp,
                          {"120 ready in 1 minute\r\n", "220-Welcome\r\n free text 220 here\r\n220-more\r\n220 ready\r\n",
                           "234 AUTH TLS OK\r\n"}, chunk);
    CHECK(is_ready(p.last));
    CHECK(p.sent == "AUTH TLS\r\n");
  }
  CHECK(failure_of(play(StartTlsProtocol::ftp, {"220 ready\r\n", "534 Local policy forbids TLS\r\n"})) ==
        "AUTH TLS refused: 534 Local policy forbids TLS");
  CHECK(failure_of(play(StartTlsProtocol::ftp, {"421 too many users\r\n"})) ==
        "the server refused the session: 421 too many users");
  CHECK(failure_of(play(StartTlsProtocol::ftp, {"SSH-2.0-OpenSSH_9.2\r\n"})) ==
        "not an FTP reply while waiting for the greeting: SSH-2.0-OpenSSH_9.2");
}

TEST_CASE("postgres: SSLRequest and its one-byte answer", "[agent][probe][starttls]") {
  StartTlsDialogue d(StartTlsProtocol::postgres, "");
  const StartTlsNext first = d.start();
  REQUIRE(first);
  CHECK(first->send == std::string("\x00\x00\x00\x08\x04\xd2\x16\x2f", 8));
  CHECK(first->read);
  CHECK(reads(d.received("")));
  CHECK(is_ready(d.received("S")));

  CHECK(failure_of(play(StartTlsProtocol::postgres, {"N"})) == "postgres answered 'N': the server does not accept SSL");
  CHECK(failure_of(play(StartTlsProtocol::postgres, {"S\x16\x03\x01"})).find("3 bytes after its go-ahead") !=
        std::string::npos);
  CHECK(failure_of(play(StartTlsProtocol::postgres, {"HTTP/1.1 400"})) ==
        "not a postgres server: it answered SSLRequest with HTTP/1.1 400");
  // An ErrorResponse (old servers): severity and message are quoted, in any split.
  const std::string fields = "SFATAL\0C0A000\0Munsupported frontend protocol 1234.5679\0\0"s;
  const uint32_t len = static_cast<uint32_t>(4 + fields.size());
  std::string error = "E";
  for (const int shift : {24, 16, 8, 0}) error += static_cast<char>((len >> shift) & 0xff);
  error += fields;
  for (const std::size_t chunk : kChunks) {
    INFO("chunk " << chunk);
    CHECK(failure_of(play(StartTlsProtocol::postgres, {error}, chunk)) ==
          "postgres answered SSLRequest with an error: FATAL: unsupported frontend protocol 1234.5679");
  }
  CHECK(failure_of(play(StartTlsProtocol::postgres, {error.substr(0, 9)})).find("closed the connection") !=
        std::string::npos);
  CHECK(failure_of(play(StartTlsProtocol::postgres, {std::string("E\xff\xff\xff\xff", 5)})).find("malformed") !=
        std::string::npos);
}

TEST_CASE("bytes after the go-ahead are a failure, not TLS", "[agent][probe][starttls]") {
  const Played smtp = play(StartTlsProtocol::smtp, {"220 x\r\n", "250-x\r\n250 STARTTLS\r\n", "220 go\r\n250 injected\r\n"});
  CHECK(failure_of(smtp) == "the server sent 14 bytes after its go-ahead (220 go): 250 injected\\x0d\\x0a");
  CHECK_FALSE(is_ready(smtp.last));
  const Played imap = play(StartTlsProtocol::imap, {"* OK [CAPABILITY STARTTLS] x\r\n", "cw2 OK go\r\nX"});
  CHECK(failure_of(imap).find("1 bytes after its go-ahead") != std::string::npos);
  // Unasked bytes before a command would be taken as its reply.
  const Played early = play(StartTlsProtocol::smtp, {"220 x\r\n250 STARTTLS\r\n"});
  CHECK(failure_of(early).find("unasked bytes before our EHLO") != std::string::npos);
  // Once ready, a prober that (wrongly) passes more bytes gets a failure too.
  StartTlsDialogue d(StartTlsProtocol::postgres, "");
  REQUIRE(d.start());
  REQUIRE(is_ready(d.received("S")));
  CHECK_FALSE(d.received("x"));
}

TEST_CASE("garbage, overlong lines and endless replies are bounded", "[agent][probe][starttls]") {
  // A line without an end, longer than the line bound: a failure with a short, escaped quote.
  const Played overlong = play(StartTlsProtocol::smtp, {std::string(kMaxStartTlsLine + 1, 'A')}, 1000);
  CHECK(failure_of(overlong).find("a line longer than 8192 bytes while waiting for the greeting") == 0);
  CHECK(failure_of(overlong).size() < 400);
  // Short lines without end: stops at the input bound.
  std::string endless = "220 x\r\n";
  std::string ehlo;
  while (ehlo.size() <= kMaxStartTlsInput) ehlo += "250-PIPELINING\r\n";
  const Played flood = play(StartTlsProtocol::smtp, {endless, ehlo}, 4096);
  CHECK(failure_of(flood) ==
        "the server sent more than 65536 bytes without finishing the dialogue (waiting for the reply to EHLO)");
  // Binary garbage and terminal escapes are quoted escaped.
  const Played tls = play(StartTlsProtocol::smtp, {std::string("\x16\x03\x01\x00\x05\x1b[2J\r\n", 11)});
  CHECK(failure_of(tls) == "not an SMTP reply while waiting for the greeting: \\x16\\x03\\x01\\x00\\x05\\x1b[2J");
  CHECK(failure_of(play(StartTlsProtocol::smtp, {"220 x\r\n", "250-x\r\n251 STARTTLS\r\n"})).find("not an SMTP reply") == 0);
}

TEST_CASE("an early close says what the dialogue waited for", "[agent][probe][starttls]") {
  CHECK(failure_of(play(StartTlsProtocol::smtp, {})) ==
        "the server closed the connection while we waited for the greeting");
  CHECK(failure_of(play(StartTlsProtocol::smtp, {"220 x\r\n", "250-x\r\n250-STARTTLS\r\n250 SI"})) ==
        "the server closed the connection while we waited for the reply to EHLO (after 250-STARTTLS) "
        "(in the middle of a line: 250 SI)");
  CHECK(failure_of(play(StartTlsProtocol::imap, {"* OK [CAPABILITY STARTTLS] x\r\n"})) ==
        "the server closed the connection while we waited for the reply to STARTTLS");
  CHECK(failure_of(play(StartTlsProtocol::pop3, {"+OK\r\n"})) ==
        "the server closed the connection while we waited for the reply to CAPA");
  CHECK(failure_of(play(StartTlsProtocol::ftp, {"220 x\r\n"})) ==
        "the server closed the connection while we waited for the reply to AUTH TLS");
  CHECK(failure_of(play(StartTlsProtocol::postgres, {})) ==
        "the server closed the connection while we waited for the answer to SSLRequest");
  // A finished dialogue stays finished.
  StartTlsDialogue d(StartTlsProtocol::pop3, "");
  REQUIRE(d.start());
  const StartTlsNext refused = d.received("-ERR no\r\n");
  REQUIRE_FALSE(refused);
  const StartTlsNext again = d.received("+OK\r\n");
  REQUIRE_FALSE(again);
  CHECK(again.error().message == refused.error().message);
  const StartTlsNext closed = d.closed();
  REQUIRE_FALSE(closed);
  CHECK(closed.error().message == refused.error().message);
}

TEST_CASE("random server bytes in random splits end in a bounded, printable verdict", "[agent][probe][starttls]") {
  // Fragments of every dialogue, so random sequences often get deep into one.
  const std::vector<std::string> pieces{"220 ", "220-", "250-", "250 ", "STARTTLS", "234 ", "* OK ", "* CAPABILITY ",
                                        "cw1 OK", "cw2 OK", "cw2 NO", "+OK", "-ERR", "STLS", ".", "\r\n", "\n", "S",
                                        "N", "E", std::string(1, '\0'), "\x1b[2J", "\xff\xfe", std::string(300, 'x')};
  std::mt19937 rng(20261128);  // fixed: a failure reproduces
  for (const auto p : {StartTlsProtocol::smtp, StartTlsProtocol::imap, StartTlsProtocol::pop3, StartTlsProtocol::ftp,
                       StartTlsProtocol::postgres}) {
    for (int round = 0; round < 300; ++round) {
      std::string input;
      const int n = static_cast<int>(rng() % 40);
      for (int i = 0; i < n; ++i) input += pieces[rng() % pieces.size()];
      StartTlsDialogue d(p, "fuzz");
      StartTlsNext step = d.start();
      for (std::size_t at = 0; at < input.size() && reads(step);) {
        const std::size_t len = 1 + rng() % 64;
        step = d.received(std::string_view(input).substr(at, len));
        at += len;
      }
      if (reads(step)) step = d.closed();
      INFO(to_string(p) << " input " << input.size() << " bytes");
      REQUIRE((is_ready(step) || !step));
      CHECK_FALSE(reads(step));
      if (!step) {
        const std::string& failure = step.error().message;
        CHECK(failure.size() < 2000);  // two quotes of 200 bytes, 4x when all escaped
        CHECK(std::none_of(failure.begin(), failure.end(),
                           [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }));
      }
    }
  }
}
