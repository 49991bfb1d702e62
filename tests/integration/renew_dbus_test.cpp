// Issue #22 item 10: a managed certificate whose reload is a systemd unit (`reload:
// {systemd_unit: mosquitto.service}`), over a private D-Bus: a dbus-daemon of the test's own
// (its config allows everything on a unix socket in the temp dir) named by
// DBUS_SYSTEM_BUS_ADDRESS, which sd-bus honours, and a stand-in for org.freedesktop.systemd1
// (clients/systemd_standin.cpp) that answers Manager.ReloadUnit like systemd (a job path, the
// SIGHUP to the real Mosquitto when the job runs, then JobRemoved; NoSuchUnit for other units).
// Tried: a success, an unknown unit, the bus gone, a job that finishes late and a job that
// fails. The agent took the ReloadUnit reply (the job is only queued) for the reload: its proof
// began before the SIGHUP; a job 2 s late still passed (the proof retries for about 8 s), one
// 15 s late had a good certificate rolled back, and a failed job was blamed on the server ("does
// not serve the new certificate"). It now waits for the job's JobRemoved like `systemctl reload`.
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "integration/renew_harness.h"

namespace renew_dbus_test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A dbus-daemon on DIR/bus that lets every peer own any name and send anything.
struct PrivateBus {
  fs::path socket;
  std::unique_ptr<testing::Process> daemon;

  explicit PrivateBus(const fs::path& dir) : socket(dir / "bus") {
    const auto conf = dir / "bus.conf";
    testing::write_file(
        conf,
        "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
        " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
        "<busconfig>\n  <listen>unix:path=" +
            socket.string() +
            "</listen>\n  <auth>EXTERNAL</auth>\n  <policy context=\"default\">\n"
            "    <allow user=\"*\"/>\n    <allow own=\"*\"/>\n"
            "    <allow send_type=\"method_call\"/>\n    <allow send_type=\"signal\"/>\n"
            "    <allow send_type=\"method_return\"/>\n    <allow send_type=\"error\"/>\n"
            "    <allow receive_type=\"method_call\"/>\n    <allow receive_type=\"signal\"/>\n"
            "    <allow receive_type=\"method_return\"/>\n    <allow receive_type=\"error\"/>\n"
            "  </policy>\n</busconfig>\n");
    daemon = std::make_unique<testing::Process>(
        std::vector<std::string>{"dbus-daemon", "--nofork", "--nopidfile",
                                 "--config-file=" + conf.string()},
        dir / "dbus-daemon.log");
    INFO(testing::read_file(dir / "dbus-daemon.log"));
    REQUIRE(testing::eventually([&] { return fs::exists(socket); }, 10s));
  }
  std::string env() const { return "DBUS_SYSTEM_BUS_ADDRESS=unix:path=" + socket.string(); }
};

// The stand-in for systemd on `bus`, knowing `unit` (the broker's pid file for its SIGHUP).
struct Systemd {
  fs::path log;
  std::unique_ptr<testing::Process> process;

  Systemd(const PrivateBus& bus, const renew_test::RenewLab& lab, const std::string& unit,
          std::vector<std::string> extra = {})
      : log(lab.dir / ("systemd-" + std::to_string(++started) + ".log")) {
    std::vector<std::string> argv{CERTWATCH_SYSTEMD_STANDIN, "--unit", unit, "--pid-file",
                                  lab.pid_file.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process = std::make_unique<testing::Process>(argv, log, std::vector<std::string>{bus.env()});
    INFO(testing::read_file(log));
    REQUIRE(testing::eventually(
        [&] { return testing::read_file(log).find("ready") != std::string::npos; }, 10s));
  }
  std::string said() const { return testing::read_file(log); }
  static inline int started = 0;  // one log per stand-in
};

// The lab's broker, issued by the built-in CA with no reload (bootstrap), then running.
std::unique_ptr<testing::Process> bootstrap(const renew_test::RenewLab& lab) {
  if (!testing::have_program("mosquitto") || !testing::have_program("dbus-daemon"))
    FAIL("mosquitto or dbus-daemon missing");
  auto first = lab.renew(lab.write_config(lab.config("90d", "", "", false)));
  INFO(first.out << first.err);
  REQUIRE(first.exit_code == 0);
  return lab.start_broker();
}

// The renewal lab with its broker running on a set issued without a reload.
struct DbusLab {
  testing::TempDir tmp;
  renew_test::RenewLab lab{tmp.path()};
  std::unique_ptr<testing::Process> broker = bootstrap(lab);
};

fs::path systemd_config(const renew_test::RenewLab& lab, const std::string& unit) {
  return lab.write_config(lab.config("90d", "", "{systemd_unit: " + unit + "}"));
}

bool says(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// A renewal that failed at the reload with `reason`: the previous set (serial `live`) is back
// on disk, whole, and served.
void expect_rolled_back(const renew_test::RenewLab& lab, const testing::RunResult& r,
                        const std::string& reason, const std::string& live) {
  INFO(r.out << r.err);
  CHECK(r.exit_code != 0);
  CHECK(says(r.out + r.err, reason));
  CHECK(says(r.out + r.err, "previous set restored"));
  CHECK(agent_test::openssl_serial(lab.certs / "server.cert.pem") == live);
  CHECK(lab.served_serial() == live);
  CHECK(lab.live_set_problem().empty());
}

}  // namespace renew_dbus_test

using namespace renew_dbus_test;

TEST_CASE(
    "systemd reload over a private D-Bus: reloaded and proved - an unknown unit and a bus "
    "that is gone roll back with the reason",
    "[integration][renew][systemd][dbus]") {
  DbusLab d;
  const auto& lab = d.lab;
  const auto& tmp = d.tmp;
  auto bus = std::make_unique<PrivateBus>(tmp.path());
  auto systemd = std::make_unique<Systemd>(*bus, lab, "mosquitto.service");

  // Success: ReloadUnit, the job SIGHUPs mosquitto, the new leaf is served.
  const auto before = lab.served_serial();
  auto ok = lab.renew(systemd_config(lab, "mosquitto.service"), {"--force"}, {bus->env()});
  INFO(ok.out << ok.err << "\nsystemd: " << systemd->said());
  REQUIRE(ok.exit_code == 0);
  const auto renewed = agent_test::openssl_serial(lab.certs / "server.cert.pem");
  CHECK(renewed != before);
  CHECK(lab.served_serial() == renewed);
  CHECK(says(systemd->said(),
             "ReloadUnit mosquitto.service replace -> /org/freedesktop/systemd1/job/1"));
  CHECK(says(systemd->said(), "JobRemoved /org/freedesktop/systemd1/job/1 done"));
  CHECK(lab.live_set_problem().empty());

  // A unit systemd does not know: its NoSuchUnit error, the previous set restored and served.
  auto unknown =
      lab.renew(systemd_config(lab, "mosquitto-typo.service"), {"--force"}, {bus->env()});
  expect_rolled_back(lab, unknown,
                     "reload failed: systemd: ReloadUnit mosquitto-typo.service: Unit "
                     "mosquitto-typo.service not found.",
                     renewed);

  // The bus is gone (dbus-daemon stopped): the same, with the connection's reason.
  systemd.reset();
  bus.reset();
  auto gone = lab.renew(systemd_config(lab, "mosquitto.service"), {"--force"},
                        {"DBUS_SYSTEM_BUS_ADDRESS=unix:path=" + (tmp / "bus").string()});
  expect_rolled_back(lab, gone,
                     "reload failed: systemd: cannot connect to the system bus: ", renewed);
}

TEST_CASE(
    "systemd reload over a private D-Bus: the proof waits for the job that ends late or fails",
    "[integration][renew][systemd][dbus]") {
  DbusLab d;
  const auto& lab = d.lab;
  const auto& tmp = d.tmp;
  PrivateBus bus(tmp.path());
  const auto config = systemd_config(lab, "mosquitto.service");
  const auto before = lab.served_serial();
  {
    // The job runs (SIGHUP, JobRemoved) 15 s after ReloadUnit answered: longer than the proof's
    // 20 handshakes, which used to start at the reply and give up before the reload happened.
    Systemd systemd(bus, lab, "mosquitto.service", {"--delay-ms", "15000"});
    const auto started = std::chrono::steady_clock::now();
    auto late = lab.renew(config, {"--force"}, {bus.env()});
    INFO(late.out << late.err << "\nsystemd: " << systemd.said());
    REQUIRE(late.exit_code == 0);
    CHECK(std::chrono::steady_clock::now() - started >= 15s);
    const auto renewed = agent_test::openssl_serial(lab.certs / "server.cert.pem");
    CHECK(renewed != before);
    CHECK(lab.served_serial() == renewed);
    CHECK_FALSE(says(systemd.said(), "job/2"));  // one reload, no rollback
  }
  {
    // The job fails (an ExecReload= that exits non-zero; no SIGHUP): a reload failure with
    // systemd's result, not "the server does not serve the new certificate".
    const auto live = agent_test::openssl_serial(lab.certs / "server.cert.pem");
    Systemd systemd(bus, lab, "mosquitto.service", {"--job-result", "failed"});
    auto failed = lab.renew(config, {"--force"}, {bus.env()});
    INFO("systemd: " << systemd.said());
    expect_rolled_back(
        lab, failed,
        "reload failed: systemd: reload of mosquitto.service ended with job result 'failed'", live);
  }
}
