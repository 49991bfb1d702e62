#include "pki/load/passphrase_file.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <string>

#include "support/fixtures.h"

using certwatch::pki::first_line;
using certwatch::pki::read_passphrase_file;

TEST_CASE("a passphrase is the first line without its line ending", "[load][passphrase]") {
  CHECK(first_line("secret") == "secret");
  CHECK(first_line("secret\n") == "secret");
  CHECK(first_line("secret\r\n") == "secret");
  CHECK(first_line("secret\r\r\n") == "secret\r");  // one line ending, not every '\r'
  CHECK(first_line("two words \nsecond line") == "two words ");
  CHECK(first_line("\nsecret") == "");
}

TEST_CASE("read_passphrase_file reads by the rule and tells an empty passphrase from a read error",
          "[load][passphrase]") {
  testing::TempDir d;
  testing::write_file(d / "pass", "s3cret\r\nignored\n");
  auto pass = read_passphrase_file(d / "pass");
  REQUIRE(pass);
  CHECK(pass->value() == "s3cret");

  testing::write_file(d / "empty", "\n");
  auto empty = read_passphrase_file(d / "empty");
  REQUIRE_FALSE(empty);
  CHECK(empty.error().kind == certwatch::ErrorKind::invalid_input);

  auto missing = read_passphrase_file(d / "missing");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == certwatch::ErrorKind::io);
  CHECK(missing.error().message.find("missing") != std::string::npos);

  REQUIRE(::mkfifo((d / "fifo").c_str(), 0600) == 0);
  auto fifo = read_passphrase_file(d / "fifo");  // non-blocking open: refused, never hangs
  REQUIRE_FALSE(fifo);
  CHECK(fifo.error().kind == certwatch::ErrorKind::io);
}
