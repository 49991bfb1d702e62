#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "agent/daemon/sd_notify.h"
#include "support/fixtures.h"

namespace {

// A unix datagram socket standing in for systemd's notify socket.
struct FakeNotifySocket {
  explicit FakeNotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof addr.sun_path - 1);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    timeval tv{2, 0};  // bounded: a missing message fails the test instead of hanging it
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~FakeNotifySocket() { ::close(fd_); }
  std::string receive() {
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  }
  int fd_;
  std::string path_;
};

// Sets or unsets an environment variable for the scope of a test.
struct EnvVar {
  EnvVar(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
  ~EnvVar() {
    if (old_.empty())
      ::unsetenv(name_);
    else
      ::setenv(name_, old_.c_str(), 1);
  }
  const char* name_;
  std::string old_;
};

}  // namespace

TEST_CASE("sd_notify sends READY, STATUS, RELOADING, STOPPING and WATCHDOG", "[agent][sd_notify]") {
  testing::TempDir dir;
  const std::string sock = (dir / "notify.sock").string();
  FakeNotifySocket server(sock);
  EnvVar notify("NOTIFY_SOCKET", sock.c_str());
  const std::string usec = "4000000";
  const std::string pid = std::to_string(::getpid());
  EnvVar wd_usec("WATCHDOG_USEC", usec.c_str());
  EnvVar wd_pid("WATCHDOG_PID", pid.c_str());

  certwatch::agent::SdNotify n;
  REQUIRE(n.enabled());
  REQUIRE(n.watchdog_interval().has_value());
  CHECK(n.watchdog_interval()->count() == 2000000);  // half of WATCHDOG_USEC

  n.ready("watching 3 files");
  CHECK(server.receive() == "READY=1\nSTATUS=watching 3 files");
  n.status("scanning");
  CHECK(server.receive() == "STATUS=scanning");
  n.reloading();
  const std::string reloading = server.receive();
  CHECK(reloading.rfind("RELOADING=1\nMONOTONIC_USEC=", 0) == 0);
  n.watchdog();
  CHECK(server.receive() == "WATCHDOG=1");
  n.stopping();
  CHECK(server.receive() == "STOPPING=1");
}

TEST_CASE("sd_notify is a no-op without NOTIFY_SOCKET", "[agent][sd_notify]") {
  EnvVar notify("NOTIFY_SOCKET", nullptr);
  EnvVar wd("WATCHDOG_USEC", nullptr);
  certwatch::agent::SdNotify n;
  CHECK_FALSE(n.enabled());
  CHECK_FALSE(n.watchdog_interval().has_value());
  CHECK_FALSE(n.send("READY=1"));
}

TEST_CASE("the watchdog interval is ignored when WATCHDOG_PID names another process",
          "[agent][sd_notify]") {
  EnvVar wd_usec("WATCHDOG_USEC", "4000000");
  EnvVar wd_pid("WATCHDOG_PID", "1");
  certwatch::agent::SdNotify n;
  CHECK_FALSE(n.watchdog_interval().has_value());
}
