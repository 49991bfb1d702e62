// A real Mosquitto with a TLS listener on a fresh loopback port and `require_certificate true`,
// stopped on destruction. Shared by the issuer's and the prober's broker tests.
#pragma once

#include <catch2/catch.hpp>

#include <pwd.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "support/fixtures.h"

namespace mosquitto_test {

inline std::string current_user() {
  const passwd* pw = ::getpwuid(::getuid());
  return pw != nullptr ? pw->pw_name : "root";
}

struct Broker {
  int port = 0;
  std::unique_ptr<testing::Process> process;
  std::filesystem::path log;

  // `tls`: cafile/certfile/keyfile (and more) lines. `anonymous`: allow_anonymous.
  Broker(const std::filesystem::path& dir, const std::string& tls, const std::string& tag, bool anonymous = true) {
    port = testing::free_port();
    const auto conf = dir / ("mosquitto-" + tag + ".conf");
    log = dir / ("mosquitto-" + tag + ".log");
    // `user` keeps the broker as the current user if it runs as root (it would otherwise
    // switch to "mosquitto", who cannot read the 0600 key); nothing here needs privileges.
    // log_dest file: mosquitto flushes it per line (stdout to a pipe is block-buffered).
    testing::write_file(conf, "user " + current_user() + "\npersistence false\nlog_dest file " + log.string() + "\n"
                              "log_type all\nlistener " + std::to_string(port) + " 127.0.0.1\n"
                              "allow_anonymous " + (anonymous ? "true" : "false") + "\nrequire_certificate true\n" + tls);
    process = std::make_unique<testing::Process>(std::vector<std::string>{"mosquitto", "-c", conf.string()},
                                                 dir / ("mosquitto-" + tag + ".out"));
    REQUIRE(testing::wait_for_port(port, std::chrono::seconds(10)));
  }
};

}  // namespace mosquitto_test
