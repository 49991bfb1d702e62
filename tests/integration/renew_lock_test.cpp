// One renewal transaction per managed entry across processes and threads (issue #22, item 6):
// two `certwatch renew --force` at once, `renew` beside the running agent (both ways round),
// and a SIGHUP that changes the entry while its renewal runs. A reload command that signals
// the broker and then sleeps keeps each transaction open for seconds, so that they would
// overlap without the lock. Oracles: openssl on the files and on the broker's handshake, and
// `pki list` for the ledger.
#include <catch2/catch.hpp>
#include <csignal>
#include <regex>

#include "integration/renew_harness.h"

using renew_test::RenewLab;
namespace fs = std::filesystem;

namespace renew_lock_test {

// Signals the broker to reload, then holds the transaction open for `seconds`.
std::string slow_reload(const RenewLab& lab, int seconds) {
  return "{command: [sh, -c, \"kill -HUP $(cat " + lab.pid_file.string() + ") && sleep " +
         std::to_string(seconds) + "\"]}";
}

// The config with one more SAN: the deployed certificate no longer matches it, so it is due.
std::string with_san(std::string text, const std::string& san) {
  const std::string at = "IP:127.0.0.1]";
  text.replace(text.find(at), at.size(), "IP:127.0.0.1, " + san + "]");
  return text;
}

// How many transactions the agent started ("renew broker: starting" in its log).
size_t starts(agent_test::AgentProcess& agent) {
  const auto log = agent.log();
  size_t n = 0;
  for (auto at = log.find("renew broker: starting"); at != std::string::npos;
       at = log.find("renew broker: starting", at + 1))
    ++n;
  return n;
}

bool renewal_failed(agent_test::AgentProcess& agent) {
  return !agent_test::series(agent.metrics(), "certwatch_finding", {"id=\"renewal.failed\""})
              .empty();
}

// What every test ends with: the files whole, served, and the ledger's one current row.
void check_truth(const RenewLab& lab) {
  const auto disk = renew_test::disk_serial(lab);
  CHECK(lab.live_set_problem().empty());
  CHECK(renew_test::comparable_serial(lab.served_serial()) == disk);
  CHECK(renew_test::valid_rows(lab) == std::vector<std::string>{disk});
}

// The lab bootstrapped (signal reload) and its broker started on the deployed set.
std::unique_ptr<testing::Process> serving(const RenewLab& lab) {
  REQUIRE(lab.renew(lab.write_config(lab.config("1h", "", lab.signal_reload()))).exit_code == 0);
  return lab.start_broker();
}

// The config with one more SAN (due at once), reloads holding the transaction for 3 s.
fs::path due_config(const RenewLab& lab, const std::string& san) {
  return lab.write_config(with_san(lab.config("1h", "", slow_reload(lab, 3)), san));
}

}  // namespace renew_lock_test

TEST_CASE(
    "renew lock: two `renew --force` at once run one after the other, each printing what is true",
    "[integration][renew][lock][mosquitto]") {
  using namespace renew_lock_test;
  if (!testing::have_program("mosquitto")) FAIL("mosquitto is not installed");
  testing::TempDir tmp;
  RenewLab lab(tmp.path());
  auto broker = serving(lab);
  const auto config = lab.write_config(lab.config("1h", "", slow_reload(lab, 2)));
  const auto start = [&](const std::string& tag) {
    // Paused before its deploy (a slow CA): the first one still holds the entry when the
    // second one starts, however loaded the machine.
    return std::make_unique<testing::Process>(
        std::vector<std::string>{testing::certwatch_bin().string(), "renew", "-c", config.string(),
                                 "broker", "--force"},
        tmp / ("renew-" + tag + ".out"),
        std::vector<std::string>{"CERTWATCH_FAULT_PAUSE=before_deploy:" +
                                 std::to_string(3000 * renew_test::kSlow)});
  };
  auto one = start("one");
  // The first one has issued (the ledger has its row) when the second one starts.
  REQUIRE(testing::eventually([&] { return renew_test::ledger(lab).size() == 2; },
                              std::chrono::seconds(20 * renew_test::kSlow)));
  auto two = start("two");
  const auto code_one = one->wait(std::chrono::seconds(90 * renew_test::kSlow));
  const auto code_two = two->wait(std::chrono::seconds(90 * renew_test::kSlow));
  REQUIRE(code_one);
  REQUIRE(code_two);
  const auto out_one = testing::read_file(tmp / "renew-one.out"),
             out_two = testing::read_file(tmp / "renew-two.out");
  INFO("one:\n" << out_one << "\ntwo:\n" << out_two);
  CHECK(*code_one == 0);
  CHECK(*code_two == 0);
  // The second one waited, and named the first.
  CHECK(out_one.find("waiting:") == std::string::npos);
  CHECK(out_two.find("waiting: the renewal of broker is held by pid " + std::to_string(one->pid()) +
                     " (renew) since ") != std::string::npos);
  const auto first = renew_test::printed_serial(out_one),
             second = renew_test::printed_serial(out_two);
  REQUIRE_FALSE(first.empty());
  REQUIRE_FALSE(second.empty());
  CHECK(first != second);
  // The last one's serial is the live one; the first one's was live until the second replaced
  // it: the ledger says superseded, not current.
  CHECK(second == renew_test::disk_serial(lab));
  check_truth(lab);
  const auto rows = renew_test::ledger(lab);
  REQUIRE(rows.count(first) == 1);
  CHECK(rows.at(first) != "valid");
}

TEST_CASE(
    "renew lock: `renew` beside the running agent: each waits for the other and decides again from "
    "the files",
    "[integration][renew][lock][mosquitto]") {
  using namespace renew_lock_test;
  if (!testing::have_program("mosquitto")) FAIL("mosquitto is not installed");
  testing::TempDir tmp;
  RenewLab lab(tmp.path());
  auto broker = serving(lab);
  // One more SAN: the deployed certificate is due for the agent and for `renew` alike.
  const auto config = due_config(lab, "DNS:one.lab.local");

  // 1. `renew` holds the entry, paused before its deploy; the agent starts, finds it due,
  //    waits, and then reads the new certificate from the files: nothing left to do, no
  //    second renewal, no failure.
  testing::Process cli(
      {testing::certwatch_bin().string(), "renew", "-c", config.string(), "broker"},
      tmp / "cli.out",
      {"CERTWATCH_FAULT_PAUSE=before_deploy:" + std::to_string(5000 * renew_test::kSlow)});
  // Issued (the ledger has its row): it is paused before its deploy now.
  REQUIRE(testing::eventually([&] { return renew_test::ledger(lab).size() == 2; },
                              std::chrono::seconds(20 * renew_test::kSlow)));
  agent_test::AgentProcess agent(tmp.path(), config, lab.http_port);
  REQUIRE(agent.wait_ready());
  CHECK(testing::eventually(
      [&] {
        return agent.log().find("its renewal is held by pid " + std::to_string(cli.pid()) +
                                " (renew)") != std::string::npos;
      },
      std::chrono::seconds(10 * renew_test::kSlow)));
  const auto cli_code = cli.wait(std::chrono::seconds(60 * renew_test::kSlow));
  const auto cli_out = testing::read_file(tmp / "cli.out");
  INFO("renew:\n" << cli_out);
  REQUIRE(cli_code);
  CHECK(*cli_code == 0);
  const auto by_cli = renew_test::printed_serial(cli_out);
  CHECK(by_cli == renew_test::disk_serial(lab));
  CHECK(testing::eventually(
      [&] {
        return agent.log().find("serial " + by_cli) != std::string::npos &&
               agent.log().find("deployed by another process meanwhile") != std::string::npos;
      },
      std::chrono::seconds(15 * renew_test::kSlow)));
  testing::sleep_ms(1500);  // a second transaction, if one started, would have begun by now
  CHECK(renew_test::renewals(agent.metrics(), "success") == 0);
  CHECK(renew_test::renewals(agent.metrics(), "failure") == 0);
  CHECK_FALSE(renewal_failed(agent));
  check_truth(lab);

  // 2. The agent holds the entry (a SIGHUP with yet another SAN makes it due); `--wait 0`
  //    gives up at once with exit 4, a waiting `renew --force` renews after it.
  due_config(lab, "DNS:two.lab.local");
  const auto started = starts(agent);
  REQUIRE(agent.process().signal(SIGHUP));
  REQUIRE(testing::eventually([&] { return starts(agent) > started; },
                              std::chrono::seconds(20 * renew_test::kSlow)));
  auto now = lab.renew(config, {"--force", "--wait", "0"});
  INFO("renew --wait 0:\n" << now.out << now.err);
  CHECK(now.exit_code == 4);
  CHECK(now.err.find("still held by pid " + std::to_string(agent.process().pid()) + " (agent)") !=
        std::string::npos);
  auto after = lab.renew(lab.dir / "certwatch.yaml", {"--force"});
  INFO("renew --force:\n" << after.out << after.err);
  CHECK(after.exit_code == 0);
  CHECK(after.out.find("waiting: the renewal of broker is held by pid " +
                       std::to_string(agent.process().pid()) + " (agent)") != std::string::npos);
  CHECK(renew_test::renewals(agent.metrics(), "success") == 1);
  CHECK(renew_test::printed_serial(after.out) == renew_test::disk_serial(lab));
  CHECK_FALSE(renewal_failed(agent));
  check_truth(lab);
}

TEST_CASE(
    "renew lock: a SIGHUP that changes the entry while its renewal runs starts no second "
    "transaction",
    "[integration][renew][lock][mosquitto]") {
  using namespace renew_lock_test;
  if (!testing::have_program("mosquitto")) FAIL("mosquitto is not installed");
  testing::TempDir tmp;
  RenewLab lab(tmp.path());
  auto broker = serving(lab);
  const auto config = due_config(lab, "DNS:one.lab.local");
  agent_test::AgentProcess agent(tmp.path(), config, lab.http_port);
  REQUIRE(agent.wait_ready());
  // Its renewal starts at once (the SANs changed); while its reload sleeps, the entry changes.
  REQUIRE(testing::eventually([&] { return starts(agent) == 1; },
                              std::chrono::seconds(20 * renew_test::kSlow)));
  due_config(lab, "DNS:two.lab.local");
  REQUIRE(agent.process().signal(SIGHUP));
  // The first transaction ends, then the changed entry's own renewal follows it: two
  // successes one after the other, no failure.
  REQUIRE(testing::eventually([&] { return renew_test::renewals(agent.metrics(), "success") >= 2; },
                              std::chrono::seconds(40 * renew_test::kSlow)));
  INFO(agent.log());
  CHECK(agent.log().find("changed while its renewal runs") != std::string::npos);
  CHECK(renew_test::renewals(agent.metrics(), "failure") == 0);
  CHECK_FALSE(renewal_failed(agent));
  const auto sans = testing::run({"openssl", "x509", "-noout", "-ext", "subjectAltName", "-in",
                                  (lab.certs / "server.cert.pem").string()});
  CHECK(sans.out.find("two.lab.local") != std::string::npos);
  CHECK(renew_test::renewals(agent.metrics(), "success") == 2);
  check_truth(lab);
}
