#include "config/judge_context.h"

#include <catch2/catch.hpp>

#include "support/fixtures.h"
#include "support/pki_fixture.h"

using namespace testing;
namespace fs = std::filesystem;
using certwatch::pki::Purpose;

TEST_CASE("every entry kind becomes a judge context through one factory", "[config][judge_context]") {
  TempDir d;
  PkiFixture f(d / "pki");
  const auto global = f.root("global", CertOptions::of("Global Anchor"));
  const auto own = f.root("own", CertOptions::of("Own Anchor"));
  certwatch::config::Config cfg;
  cfg.trust = {global.cert};
  cfg.agent.thresholds = {20 * 86400, 5 * 86400};
  cfg.severities["leaf.no_san"] = certwatch::pki::Severity::critical;
  certwatch::pki::TrustStore store;

  SECTION("watch entries: their own trust or the global one, shared per list") {
    certwatch::config::WatchEntry a;
    a.path = "/a";
    a.host = "a.test";
    a.clients = {"openssl"};
    certwatch::config::WatchEntry b;
    b.path = "/b";
    b.purpose = Purpose::client;
    certwatch::config::WatchEntry c;
    c.path = "/c";
    c.trust = std::vector<fs::path>{own.cert};
    const auto ca = certwatch::config::judge_context(cfg, a, store);
    const auto cb = certwatch::config::judge_context(cfg, b, store);
    const auto cc = certwatch::config::judge_context(cfg, c, store);
    CHECK(ca.trust == cb.trust);  // one read of the global list for both
    CHECK(ca.options.trust_index == cb.options.trust_index);
    CHECK(cc.trust != ca.trust);
    REQUIRE(cc.options.trust.size() == 1);
    CHECK(cc.options.trust[0].subject().find("Own Anchor") != std::string::npos);
    CHECK(ca.options.host == std::optional<std::string>("a.test"));
    CHECK(ca.options.purpose == Purpose::any);
    CHECK(cb.options.purpose == Purpose::client);
    CHECK(ca.options.clients == std::vector<std::string>{"openssl"});
    CHECK(ca.options.thresholds == cfg.agent.thresholds);
    CHECK(ca.options.policy.severity_of("leaf.no_san") == certwatch::pki::Severity::critical);
    CHECK_FALSE(ca.options.expect_leaf);
    CHECK(ca.options.threads == 1u);
  }
  SECTION("an endpoint: a served server chain, host from sni, else the target's") {
    certwatch::config::EndpointEntry e;
    e.target = {"mqtt.lab.test", 8883};
    auto ctx = certwatch::config::judge_context(cfg, e, store);
    CHECK(ctx.options.expect_leaf);
    CHECK(ctx.options.purpose == Purpose::server);
    CHECK(ctx.options.host == std::optional<std::string>("mqtt.lab.test"));
    e.sni = "other.test";
    ctx = certwatch::config::judge_context(cfg, e, store);
    CHECK(ctx.options.host == std::optional<std::string>("other.test"));
    CHECK(ctx.trust == store.get(cfg.trust));
  }
  SECTION("a managed entry: its issuer's bundle, purpose by profile") {
    fs::create_directories(d / "ca");
    fs::copy_file(own.cert, d / "ca" / "ca-bundle.pem");
    cfg.issuers.push_back({"lab", d / "ca", "lab", std::nullopt});
    certwatch::config::ManagedEntry m;
    m.issuer = "lab";
    m.profile = certwatch::pki::Profile::client;
    m.sans = {{certwatch::pki::SubjectAltName::Type::dns, "dev.test"}};
    const auto deployed = certwatch::config::judge_context(cfg, m, store);
    REQUIRE(deployed.options.trust.size() == 1);
    CHECK(deployed.options.trust[0].subject().find("Own Anchor") != std::string::npos);
    CHECK(deployed.options.purpose == Purpose::client);
    CHECK(deployed.options.expect_leaf);
    CHECK(deployed.options.thresholds == cfg.agent.thresholds);
    // The issued set before deploying: the issuer's anchors, the first SAN, the defaults.
    const auto issued = certwatch::config::issued_judge_context(m, load_certs(global.cert));
    REQUIRE(issued.options.trust.size() == 1);
    CHECK(issued.options.host == std::optional<std::string>("dev.test"));
    CHECK(issued.options.thresholds == certwatch::pki::Thresholds{});
    CHECK(issued.options.policy.severity_of("leaf.no_san") == certwatch::pki::Severity::warning);
  }
  SECTION("the ledger, the broker and the CLI") {
    const auto ledger = certwatch::config::ledger_judge_context(cfg);
    CHECK(ledger.options.trust.empty());
    CHECK(ledger.trust_errors().empty());
    CHECK(ledger.options.thresholds == cfg.agent.thresholds);
    const auto broker = certwatch::config::broker_judge_context(own.cert, "broker.test", store);
    REQUIRE(broker.options.trust.size() == 1);
    CHECK(broker.options.host == std::optional<std::string>("broker.test"));
    CHECK(broker.options.expect_leaf);
    certwatch::config::CliJudgeFlags flags;
    flags.anchors = load_certs(global.cert);
    flags.purpose = Purpose::server;
    const auto cli = certwatch::config::cli_judge_context(std::move(flags));
    CHECK(cli.options.trust.size() == 1);
    CHECK(cli.options.trust_index != nullptr);
    CHECK(cli.options.threads == 0u);
    CHECK(cli.options.purpose == Purpose::server);
  }
}

TEST_CASE("a judge context judges only at an instant it is given", "[config][judge_context]") {
  const auto ctx = certwatch::config::ledger_judge_context(certwatch::config::Config{});
  CHECK(ctx.options.now == 0);
  CHECK(ctx.at(1'700'000'000).now == 1'700'000'000);
}

TEST_CASE("an issuer's chain is judged against its own anchors", "[config][judge_context]") {
  certwatch::config::IssuerEntry builtin{"lab", "/pki", "lab", std::nullopt};
  CHECK(certwatch::config::issuer_chain_trust(builtin) == std::vector<fs::path>{"/pki/ca-bundle.pem"});
  certwatch::config::IssuerEntry acme{"le", "", "", std::nullopt, certwatch::config::AcmeIssuer{}};
  acme.acme->trust = {"/acme-tls.pem"};
  CHECK(certwatch::config::issuer_chain_trust(acme) == std::vector<fs::path>{"/acme-tls.pem"});
  acme.acme->chain_trust = {"/chain.pem"};
  CHECK(certwatch::config::issuer_chain_trust(acme) == std::vector<fs::path>{"/chain.pem"});
}
