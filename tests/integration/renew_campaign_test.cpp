// The renewal fault campaign (issue #22, acceptance 2): trials drawn from a fixed seed, each one
// fault during renewals of a Mosquitto certificate whose reload takes a second:
//   kill9_renew   `certwatch renew --force` killed -9 at a random moment, the agent too;
//   kill9_agent   the agent killed -9 at a random moment of a renewal it started itself (a
//                 SIGHUP changed the entry's SANs);
//   concurrent    two `renew --force` at once beside the running agent;
//   sighup        a SIGHUP with a changed entry while `renew --force` runs;
//   read_only     the certificate's directory immutable for a while during `renew --force`
//                 (key and certificate in different directories).
// After each trial, within 30 s of the agent's (re)start or of the commands' end: the served leaf
// is the deployed leaf, key and certificate pair, the ledger's one current row is the live
// certificate, the live certificate carries the entry's SANs, and what each command printed was
// true. The tally is printed. CERTWATCH_CAMPAIGN_TRIALS (default 10; 5 in the sanitizer build) and
// CERTWATCH_CAMPAIGN_SEED (default 20261208) set the size and the draw; bench/RESULTS.md has the
// 100-trial run.
#include <signal.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>

#include "integration/renew_harness.h"

namespace renew_campaign {

namespace fs = std::filesystem;
using renew_test::RenewLab;
using Clock = std::chrono::steady_clock;

// everything several times slower under the sanitizers: wider bounds, fewer trials
constexpr bool kSanitized = renew_test::kSlow > 1;

constexpr std::array<const char*, 5> kKinds = {"kill9_renew", "kill9_agent", "concurrent", "sighup",
                                               "read_only"};

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

// A finished `certwatch renew`: what it printed and when it ended.
struct Finished {
  int exit_code = -1;
  std::string out;
  Clock::time_point at;
};

struct Campaign {
  RenewLab lab;
  fs::path keys;
  bool alt_san = false;  // the entry's SANs: with DNS:alt.lab.local or without
  int generation = 0;    // agent incarnations, each logging to its own directory
  std::unique_ptr<testing::Process> broker;
  std::unique_ptr<agent_test::AgentProcess> agent;

  explicit Campaign(const fs::path& dir) : lab(dir), keys(dir / "keys") {
    fs::create_directories(keys);
  }

  fs::path key_file() const { return keys / "server.key.pem"; }
  fs::path cert_file() const { return lab.certs / "server.cert.pem"; }
  fs::path chain_file() const { return lab.certs / "server.chain.pem"; }

  // The lab's config with the key in its own directory, SANs as alt_san says, and a reload
  // command that takes a second before it sends Mosquitto SIGHUP. `bootstrap`: no broker yet,
  // so no reload and no handshake.
  fs::path write_config(bool bootstrap = false) {
    const std::string reload =
        "{command: [sh, -c, \"sleep 1; kill -HUP $(cat " + lab.pid_file.string() + ")\"]}";
    auto text = lab.split_key(keys, bootstrap ? lab.config("1h", "", "{command: [true]}", false)
                                              : lab.config("1h", "", reload));
    if (alt_san) {
      const std::string from = "sans: [DNS:mqtt.lab.local,";
      const auto p = text.find(from);
      REQUIRE(p != std::string::npos);
      text.replace(p, from.size(), "sans: [DNS:mqtt.lab.local, DNS:alt.lab.local,");
    }
    return lab.write_config(text);
  }

  void start_broker() {
    const auto conf = lab.dir / "mosquitto.conf";
    testing::write_file(
        conf, "user " + mosquitto_test::current_user() + "\npersistence false\npid_file " +
                  lab.pid_file.string() + "\nlog_dest file " +
                  (lab.dir / "mosquitto.log").string() + "\nlistener " +
                  std::to_string(lab.broker_port) +
                  " 127.0.0.1\nallow_anonymous true\nrequire_certificate true\ncafile " +
                  (lab.pki / "ca-bundle.pem").string() + "\ncertfile " + chain_file().string() +
                  "\nkeyfile " + key_file().string() + "\n");
    broker = std::make_unique<testing::Process>(
        std::vector<std::string>{"mosquitto", "-c", conf.string()}, lab.dir / "mosquitto.out");
    REQUIRE(testing::wait_for_port(lab.broker_port, std::chrono::seconds(10)));
    REQUIRE(testing::eventually([&] { return fs::exists(lab.pid_file); }, std::chrono::seconds(5)));
  }

  // "" when the agent came up and answers /healthz, else its log's end.
  std::string start_agent() {
    const auto dir = lab.dir / ("agent-" + std::to_string(++generation));
    fs::create_directories(dir);
    agent =
        std::make_unique<agent_test::AgentProcess>(dir, lab.dir / "certwatch.yaml", lab.http_port);
    if (agent->wait_ready(std::chrono::seconds(kSanitized ? 60 : 20))) return "";
    const auto log = agent->log();
    return "agent not ready within the bound; its log ends: " +
           log.substr(log.size() > 1500 ? log.size() - 1500 : 0);
  }

  void kill_agent() {
    if (!agent) return;
    agent->process().signal(SIGKILL);
    agent->process().wait(std::chrono::seconds(10));
    agent.reset();
  }

  std::unique_ptr<testing::Process> start_renew(const std::string& tag) {
    return std::make_unique<testing::Process>(
        std::vector<std::string>{testing::certwatch_bin().string(), "renew", "-c",
                                 (lab.dir / "certwatch.yaml").string(), "broker", "--force"},
        lab.dir / ("renew-" + tag + ".out"));
  }

  Finished finished(const std::string& tag, std::optional<int> code) {
    Finished f;
    f.at = Clock::now();
    f.exit_code = code ? *code : -1;
    f.out = testing::read_file(lab.dir / ("renew-" + tag + ".out"));
    return f;
  }

  Finished finish_renew(testing::Process& p, const std::string& tag) {
    return finished(tag, p.wait(std::chrono::seconds(kSanitized ? 240 : 120)));
  }

  // Both commands, each with the moment it was seen to end (polled every 20 ms), so that the
  // order they ended in is known.
  std::pair<Finished, Finished> finish_both(testing::Process& a, const std::string& ta,
                                            testing::Process& b, const std::string& tb) {
    std::optional<Finished> fa, fb;
    const auto end = Clock::now() + std::chrono::seconds(kSanitized ? 240 : 120);
    while ((!fa || !fb) && Clock::now() < end) {
      if (!fa)
        if (auto c = a.wait(std::chrono::milliseconds(10))) fa = finished(ta, c);
      if (!fb)
        if (auto c = b.wait(std::chrono::milliseconds(10))) fb = finished(tb, c);
    }
    if (!fa) fa = finished(ta, std::nullopt);
    if (!fb) fb = finished(tb, std::nullopt);
    return {*fa, *fb};
  }

  std::string agent_log_tail() const {
    if (!agent) return "(no agent)";
    const auto log = agent->log();
    return log.substr(log.size() > 2500 ? log.size() - 2500 : 0);
  }

  std::string disk_serial() const { return renew_test::disk_serial(lab); }

  // Everything the trial must end with; "" when it holds, else the first thing that does not.
  std::string inconsistency() const {
    if (auto p = renew_test::pairing_problem(key_file(), cert_file()); !p.empty()) return p;
    const auto disk = disk_serial();
    if (renew_test::comparable_serial(agent_test::openssl_serial(chain_file())) != disk)
      return "chain's leaf is not the certificate";
    const auto served = renew_test::comparable_serial(lab.served_serial());
    if (served != disk) return "served serial " + served + " != deployed serial " + disk;
    const auto sans = testing::run(
        {"openssl", "x509", "-in", cert_file().string(), "-noout", "-ext", "subjectAltName"});
    if ((sans.out.find("alt.lab.local") != std::string::npos) != alt_san)
      return "the live certificate's SANs are not the entry's: " + sans.out;
    const auto valid = renew_test::valid_rows(lab);
    if (valid.size() != 1 || valid[0] != disk) {
      std::string s = "ledger's valid rows for broker:";
      for (const auto& v : valid) s += " " + v;
      return s + "; live serial " + disk;
    }
    return "";
  }

  // Whether the ledger knows `serial` (issued by this CA for broker).
  bool in_ledger(const std::string& serial) const {
    return renew_test::ledger(lab).count(serial) != 0;
  }
};

// What a finished renew printed is true: a success names a serial the ledger issued; a failure
// says why. `last`: no one changed the set after it, so a success's serial is on disk.
std::string printed_problem(const Campaign& c, const Finished& f, bool last) {
  if (f.exit_code == 0) {
    const auto serial = renew_test::printed_serial(f.out);
    if (serial.empty()) {
      // "not due" cannot be printed with --force; the only other success is a wait that found
      // the entry renewed by the holder, which must say so.
      return f.out.find("renewed") == std::string::npos ? "exit 0 without a renewal: " + f.out : "";
    }
    if (!c.in_ledger(serial)) return "printed serial " + serial + " is not in the ledger";
    if (last && serial != c.disk_serial())
      return "printed serial " + serial + " but the disk holds " + c.disk_serial();
    return "";
  }
  if (f.exit_code < 0) return "renew did not finish";
  if (f.out.find("renewal failed") == std::string::npos &&
      f.out.find("held by") == std::string::npos && f.out.find("error") == std::string::npos)
    return "exit " + std::to_string(f.exit_code) + " without a reason: " + f.out;
  return "";
}

}  // namespace renew_campaign

TEST_CASE(
    "renew campaign: kill -9, concurrent renew, SIGHUP with changed entries and a read-only "
    "directory "
    "always end served = deployed, key = certificate, one current ledger row, every printed line "
    "true",
    "[integration][renew][campaign][mosquitto]") {
  using namespace renew_campaign;
  if (!testing::have_program("mosquitto")) FAIL("mosquitto is not installed");
  if (!testing::have_program("chattr")) FAIL("chattr is not installed");
  const int trials = env_int("CERTWATCH_CAMPAIGN_TRIALS", kSanitized ? 5 : 10);
  const auto seed = static_cast<uint64_t>(env_int("CERTWATCH_CAMPAIGN_SEED", 20261208));
  std::mt19937_64 rng(seed);
  const auto draw = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };

  testing::TempDir tmp;
  Campaign c(tmp.path());
  {
    auto r = c.lab.renew(c.write_config(true));
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
  }
  c.write_config();
  c.start_broker();
  REQUIRE(c.start_agent().empty());
  REQUIRE(c.inconsistency().empty());

  const auto settle = std::chrono::seconds(30);
  std::map<std::string, std::pair<int, int>> tally;  // kind → (trials, consistent)
  double worst_settle = 0;
  int consistent = 0;
  std::vector<std::string> failures;
  int ran = 0;
  for (int trial = 0; trial < trials; ++trial) {
    const std::string kind =
        kKinds[static_cast<size_t>(draw(0, static_cast<int>(kKinds.size()) - 1))];
    const int delay_ms = draw(0, 2600);
    // CERTWATCH_CAMPAIGN_KINDS=a,b runs only those kinds (the draw stays the same).
    if (const char* only = std::getenv("CERTWATCH_CAMPAIGN_KINDS");
        only && *only &&
        ("," + std::string(only) + ",").find("," + kind + ",") == std::string::npos)
      continue;
    ++ran;
    std::vector<std::string> problems;
    auto clock_from = Clock::now();  // the agent's (re)start or the commands' end

    if (kind == "kill9_renew") {
      auto renew = c.start_renew("t" + std::to_string(trial));
      testing::sleep_ms(delay_ms);
      renew->signal(SIGKILL);
      renew->wait(std::chrono::seconds(10));
      c.kill_agent();
      if (auto p = c.start_agent(); !p.empty()) problems.push_back(p);
      clock_from = Clock::now();
    } else if (kind == "kill9_agent") {
      c.alt_san = !c.alt_san;
      c.write_config();
      c.agent->process().signal(SIGHUP);
      testing::sleep_ms(delay_ms);
      c.kill_agent();
      if (auto p = c.start_agent(); !p.empty()) problems.push_back(p);
      clock_from = Clock::now();
    } else if (kind == "concurrent") {
      const auto a = "t" + std::to_string(trial) + "a", b = "t" + std::to_string(trial) + "b";
      auto ra = c.start_renew(a);
      testing::sleep_ms(delay_ms / 10);
      auto rb = c.start_renew(b);
      auto [fa, fb] = c.finish_both(*ra, a, *rb, b);
      const bool a_last = fa.at >= fb.at;
      if (auto p = printed_problem(c, fa, a_last); !p.empty())
        problems.push_back("first renew: " + p);
      if (auto p = printed_problem(c, fb, !a_last); !p.empty())
        problems.push_back("second renew: " + p);
      if (fa.exit_code == 0 && fb.exit_code == 0 &&
          renew_test::printed_serial(fa.out) == renew_test::printed_serial(fb.out) &&
          !renew_test::printed_serial(fa.out).empty())
        problems.push_back("both renews printed serial " + renew_test::printed_serial(fa.out));
      clock_from = Clock::now();
    } else if (kind == "sighup") {
      const auto tag = "t" + std::to_string(trial);
      auto renew = c.start_renew(tag);
      testing::sleep_ms(delay_ms / 2);
      c.alt_san = !c.alt_san;
      c.write_config();
      c.agent->process().signal(SIGHUP);
      auto f = c.finish_renew(*renew, tag);
      // The agent renews again for the changed SANs, so the printed serial need not stay on disk.
      if (auto p = printed_problem(c, f, false); !p.empty()) problems.push_back("renew: " + p);
      clock_from = Clock::now();
    } else {  // read_only
      const auto tag = "t" + std::to_string(trial);
      // Writable again however this block ends, so the temporary directory can go.
      renew_test::Immutable read_only(c.lab.certs);
      REQUIRE(read_only.on);
      auto renew = c.start_renew(tag);
      testing::sleep_ms(500 + delay_ms);
      read_only.off();
      auto f = c.finish_renew(*renew, tag);
      if (auto p = printed_problem(c, f, true); !p.empty()) problems.push_back("renew: " + p);
      clock_from = Clock::now();
    }

    std::string last;
    const bool settled = testing::eventually(
        [&] {
          last = c.inconsistency();
          return last.empty();
        },
        settle);
    const double took = std::chrono::duration<double>(Clock::now() - clock_from).count();
    if (!settled)
      problems.push_back("not consistent within 30 s: " + last + "\nentry SANs with alt: " +
                         (c.alt_san ? "yes" : "no") + "\nagent log:\n" + c.agent_log_tail());
    if (settled) worst_settle = std::max(worst_settle, took);
    auto& t = tally[kind];
    ++t.first;
    if (problems.empty()) {
      ++t.second;
      ++consistent;
    } else {
      std::string s = "trial " + std::to_string(trial) + " (" + kind + ", " +
                      std::to_string(delay_ms) + " ms):";
      for (const auto& p : problems) s += " " + p + ";";
      failures.push_back(s);
    }
  }

  std::printf(
      "renew campaign (seed %llu): %d/%d trials consistent within 30 s; slowest to settle %.1f s\n",
      static_cast<unsigned long long>(seed), consistent, ran, worst_settle);
  for (const auto& [kind, t] : tally)
    std::printf("  %-12s %d/%d\n", kind.c_str(), t.second, t.first);
  for (const auto& f : failures) std::printf("  %s\n", f.c_str());
  CHECK(ran > 0);
  CHECK(consistent == ran);
}
