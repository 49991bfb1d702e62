// The agent follows what its verdicts depend on besides the watched files: trust bundles
// changed on disk, and reloads whose new listen address cannot be used.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "integration/agent_harness.h"
#include "support/fixtures.h"
#include "support/pki_fixture.h"

using namespace agent_test;
using testing::CertOptions;
namespace fs = std::filesystem;

namespace {

std::string target_label(const fs::path& p) { return "target=\"" + p.string() + "\""; }

// certwatch_chain_valid of `target`, or -1 while the agent has no such series.
double chain_valid(AgentProcess& agent, const fs::path& target) {
  const auto lines = series(agent.metrics(), "certwatch_chain_valid", {target_label(target)});
  return lines.size() == 1 ? value_of(lines.front()) : -1;
}

void replace_atomically(const fs::path& from, const fs::path& to) {
  const fs::path tmp = to.parent_path() / ("." + to.filename().string() + ".tmp");
  fs::copy_file(from, tmp, fs::copy_options::overwrite_existing);
  fs::rename(tmp, to);
}

// A listening socket on 127.0.0.1:port for the life of the object (the port is then taken).
class PortHolder {
 public:
  explicit PortHolder(int port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    ok_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
          ::listen(fd_, 1) == 0;
  }
  ~PortHolder() {
    if (fd_ >= 0) ::close(fd_);
  }
  PortHolder(const PortHolder&) = delete;
  PortHolder& operator=(const PortHolder&) = delete;
  bool ok() const { return ok_; }

 private:
  int fd_;
  bool ok_ = false;
};

}  // namespace

TEST_CASE("agent reads a changed trust bundle again and judges every target with it",
          "[integration][agent]") {
  testing::TempDir dir;
  testing::PkiFixture f(dir / "pki");
  auto root_a = f.root("root-a", CertOptions::of("Trust Test Root A").with_days(3650));
  auto root_b = f.root("root-b", CertOptions::of("Trust Test Root B").with_days(3650));
  const fs::path certs = dir / "certs", trust = dir / "trust";
  fs::create_directories(certs);
  fs::create_directories(trust);
  auto leaf = f.server("bee", root_b, CertOptions::of("bee.lab.local"));
  fs::copy_file(leaf.cert, certs / "bee.pem");
  const fs::path bundle = trust / "bundle.pem";
  fs::copy_file(root_a.cert, bundle);  // the wrong anchor first

  const int port = testing::free_port();
  const fs::path cfg = dir / "certwatch.yaml";
  testing::write_file(cfg, agent_config(port, {certs}, bundle));
  AgentProcess agent(dir.path(), cfg, port);
  REQUIRE(agent.wait_ready());
  CHECK(chain_valid(agent, certs / "bee.pem") == 0);

  // The bundle is replaced the way package managers do it (rename): the leaf is trusted now.
  replace_atomically(root_b.cert, bundle);
  CHECK(testing::eventually([&] { return chain_valid(agent, certs / "bee.pem") == 1; },
                            std::chrono::seconds(5)));
  CHECK(agent.log().find("trust bundle changed (" + bundle.string() + ")") != std::string::npos);

  // Rewritten in place: untrusted again.
  testing::write_file(bundle, testing::read_file(root_a.cert));
  CHECK(testing::eventually([&] { return chain_valid(agent, certs / "bee.pem") == 0; },
                            std::chrono::seconds(5)));

  // A bundle kept inside the watched directory is followed too (and judged as a file there).
  const fs::path inside = certs / "anchors.pem";
  fs::copy_file(root_a.cert, inside);
  testing::write_file(cfg, agent_config(port, {certs}, inside));
  REQUIRE(agent.process().signal(SIGHUP));
  CHECK(testing::eventually(
      [&] {
        return chain_valid(agent, certs / "bee.pem") == 0 &&
               !series(agent.metrics(), "certwatch_chain_valid", {target_label(inside)}).empty();
      },
      std::chrono::seconds(5)));
  replace_atomically(root_b.cert, inside);
  CHECK(testing::eventually([&] { return chain_valid(agent, certs / "bee.pem") == 1; },
                            std::chrono::seconds(5)));

  REQUIRE(agent.process().signal(SIGTERM));
  auto code = agent.process().wait(std::chrono::seconds(10));
  REQUIRE(code.has_value());
  CHECK(*code == 0);
}

TEST_CASE("a reload whose listen address is taken applies the rest, keeps serving and reports failure",
          "[integration][agent]") {
  testing::TempDir dir;
  testing::PkiFixture f(dir / "pki");
  auto root = f.root("root", CertOptions::of("Reload Test Root").with_days(3650));
  const fs::path one = dir / "one", two = dir / "two";
  fs::create_directories(one);
  fs::create_directories(two);
  fs::copy_file(f.server("first", root, CertOptions::of("first.lab.local")).cert, one / "first.pem");
  fs::copy_file(f.server("second", root, CertOptions::of("second.lab.local")).cert, two / "second.pem");

  const int port = testing::free_port();
  const fs::path cfg = dir / "certwatch.yaml";
  testing::write_file(cfg, agent_config(port, {one}, root.cert));
  AgentProcess agent(dir.path(), cfg, port);
  REQUIRE(agent.wait_ready());
  REQUIRE(series(agent.metrics(), "certwatch_config_last_reload_successful").at(0).back() == '1');

  // The new config moves HTTP to a port another process holds, and watches `two`.
  const int taken = testing::free_port();
  PortHolder holder(taken);
  REQUIRE(holder.ok());
  testing::write_file(cfg, agent_config(taken, {two}, root.cert));
  REQUIRE(agent.process().signal(SIGHUP));
  CHECK(testing::eventually(
      [&] {
        const auto m = agent.metrics();  // still on the old port
        return m.find(target_label(two / "second.pem")) != std::string::npos &&
               m.find(target_label(one / "first.pem")) == std::string::npos;
      },
      std::chrono::seconds(5)));
  CHECK(testing::eventually(
      [&] { return series(agent.metrics(), "certwatch_config_last_reload_successful").at(0).back() == '0'; },
      std::chrono::seconds(5)));
  const auto page = http_get(port, "/");
  CHECK(page.status == 200);
  CHECK(page.body.find("cannot listen on 127.0.0.1:" + std::to_string(taken)) != std::string::npos);
  CHECK(agent.log().find("still serving on 127.0.0.1:" + std::to_string(port)) != std::string::npos);
  CHECK(agent.process().running());

  // Back to a usable config: the reload succeeds again.
  testing::write_file(cfg, agent_config(port, {two}, root.cert));
  REQUIRE(agent.process().signal(SIGHUP));
  CHECK(testing::eventually(
      [&] { return series(agent.metrics(), "certwatch_config_last_reload_successful").at(0).back() == '1'; },
      std::chrono::seconds(5)));

  REQUIRE(agent.process().signal(SIGTERM));
  auto code = agent.process().wait(std::chrono::seconds(10));
  REQUIRE(code.has_value());
  CHECK(*code == 0);
}
