#include "base/text_escape.h"

#include <catch2/catch.hpp>
#include <random>
#include <set>

#include "base/json.h"

TEST_CASE("ordinary text is unchanged, invalid bytes become escapes", "[text_escape]") {
  CHECK(certwatch::escape_text("/etc/certs/server.pem") == "/etc/certs/server.pem");
  CHECK(certwatch::escape_text("CN=a\\,b,O=Ünïcødé") == "CN=a\\,b,O=Ünïcødé");  // RFC 2253 escapes stay
  CHECK(certwatch::escape_text("a\xff.pem") == "a\\xff.pem");
  CHECK(certwatch::escape_text("a\xfe.pem") == "a\\xfe.pem");
  CHECK(certwatch::escape_text("a\xc3") == "a\\xc3");  // truncated sequence
  // A literal "\x" cannot pose as an escape.
  CHECK(certwatch::escape_text("a\\xff.pem") == "a\\\\xff.pem");
  CHECK(certwatch::escape_text("\\\xff") == "\\\\\\xff");
}

TEST_CASE("the log set also escapes control characters, DEL and C1", "[text_escape]") {
  using certwatch::EscapeSet;
  CHECK(certwatch::escape_text("x\n<0>forged", EscapeSet::for_log) == "x\\x0a<0>forged");
  CHECK(certwatch::escape_text("\x1b[31mred", EscapeSet::for_log) == "\\x1b[31mred");
  CHECK(certwatch::escape_text("a\x7f" "b", EscapeSet::for_log) == "a\\x7fb");
  CHECK(certwatch::escape_text("\xc2\x9b" "2J", EscapeSet::for_log) == "\\xc2\\x9b2J");
  CHECK(certwatch::escape_text("tab\there", EscapeSet::for_log) == "tab\\x09here");
  CHECK_FALSE(certwatch::needs_escape("plain ünicode line", EscapeSet::for_log));
  // Outputs with their own syntax escaping keep control characters for it.
  CHECK(certwatch::escape_text("x\ny") == "x\ny");
}

TEST_CASE("escaping is reversible and injective on random bytes", "[text_escape]") {
  std::mt19937 rng(15);
  const std::string alphabet = std::string("\\x\xff\xc3\xa9\n\x1b" "ab\xc2\x9b\x00", 12);
  for (auto set : {certwatch::EscapeSet::invalid_utf8, certwatch::EscapeSet::for_log}) {
    std::set<std::string> inputs, outputs;
    for (int round = 0; round < 20000; ++round) {
      std::string s;
      const int len = static_cast<int>(rng() % 8);
      for (int i = 0; i < len; ++i) s += alphabet[rng() % alphabet.size()];
      const std::string e = certwatch::escape_text(s, set);
      INFO("input bytes " << s.size());
      REQUIRE(certwatch::decode_text(e) == s);
      for (std::size_t i = 0; i < e.size();) {  // valid UTF-8
        const std::size_t n = certwatch::utf8_sequence_length(e, i);
        REQUIRE(n > 0);
        i += n;
      }
      if (inputs.insert(s).second) CHECK(outputs.insert(e).second);
    }
  }
}

TEST_CASE("JSON strings carry the escaped form and stay valid UTF-8", "[text_escape][json]") {
  std::string out;
  certwatch::json_escape(out, "a\xff.pem");
  CHECK(out == "\"a\\\\xff.pem\"");
}
