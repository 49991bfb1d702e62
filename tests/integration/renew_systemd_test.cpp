// The systemd files that let the agent renew Debian's Mosquitto (issue #11): the shipped unit
// plus the drop-in in systemd/mosquitto-renewal/ keep `systemd-analyze security --offline`
// at or below 2.5; the score is printed. The polkit rule allows exactly one unit and verb.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>

#include "support/fixtures.h"

namespace fs = std::filesystem;

TEST_CASE("systemd: certwatch.service with the Mosquitto renewal drop-in scores <= 2.5",
          "[integration][renew][systemd]") {
  if (!testing::have_program("systemd-analyze")) FAIL("systemd-analyze is not installed");
  testing::TempDir tmp;
  const auto units = tmp / "etc" / "systemd" / "system";
  fs::create_directories(units / "certwatch.service.d");
  const auto src = testing::source_dir() / "systemd";
  fs::copy_file(src / "certwatch.service", units / "certwatch.service");
  fs::copy_file(src / "mosquitto-renewal" / "certwatch.service.d-mosquitto.conf",
                units / "certwatch.service.d" / "mosquitto.conf");
  auto r = testing::run({"systemd-analyze", "security", "--offline=yes", "--root=" + tmp.path().string(),
                         "--no-pager", "certwatch.service"});
  const std::string all = r.out + r.err;
  INFO(all);
  // The drop-in was read: its supplementary group is judged.
  CHECK(all.find("SupplementaryGroups=") != std::string::npos);
  const std::string key = "Overall exposure level for certwatch.service: ";
  const auto p = all.find(key);
  REQUIRE(p != std::string::npos);
  const double score = std::strtod(all.c_str() + p + key.size(), nullptr);
  std::printf("systemd-analyze security --offline: certwatch.service + mosquitto renewal drop-in: %.1f\n", score);
  CHECK(score <= 2.5);
  const auto drop_in = testing::read_file(src / "mosquitto-renewal" / "certwatch.service.d-mosquitto.conf");
  CHECK(drop_in.find("ReadWritePaths=/etc/mosquitto/certs") != std::string::npos);
  const auto rule = testing::read_file(src / "mosquitto-renewal" / "certwatch-mosquitto.rules");
  CHECK(rule.find("\"mosquitto.service\"") != std::string::npos);
  CHECK(rule.find("\"reload\"") != std::string::npos);
}
