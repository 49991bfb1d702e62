// The ACME issuer's parts before and after the network: the account key (created 0600 once,
// reused, never replaced when unreadable), the chain trust's fallbacks, the set assembled from
// a downloaded chain, and the solver each challenge setting makes. The order itself is tested
// against pebble (tests/integration/acme_renew_test.cpp).
#include "agent/renew/acme_issuer.h"

#include <sys/stat.h>

#include <boost/asio/io_context.hpp>
#include <fstream>

#include "config/judge_context.h"
#include "pki/load/load.h"
#include "pki/x509/key.h"
#include "support/issuer_fixture.h"

using namespace certwatch::agent;

TEST_CASE("the ACME account key is created 0600 on first use and reused after",
          "[acme][acme_issuer]") {
  testing::TempDir d;
  const auto path = d.path() / "acme/le/account.key";
  auto first = load_or_create_account_key(path, certwatch::pki::KeyType::ec_p256);
  REQUIRE(first.ok());
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  REQUIRE(::stat(path.parent_path().c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0700);
  CHECK(*certwatch::pki::key_type_of(first->get()) == certwatch::pki::KeyType::ec_p256);
  // A second call (another start of the agent) finds the same account key, whatever type is asked.
  auto again = load_or_create_account_key(path, certwatch::pki::KeyType::rsa_2048);
  REQUIRE(again.ok());
  CHECK(certwatch::pki::public_key_sha256_hex(again->get()) ==
        certwatch::pki::public_key_sha256_hex(first->get()));
  // An unreadable key is an error and stays as it is: it is the account's identity.
  std::ofstream(path, std::ios::trunc) << "not a key";
  auto broken = load_or_create_account_key(path, certwatch::pki::KeyType::ec_p256);
  REQUIRE_FALSE(broken.ok());
  CHECK_THAT(broken.error().message, Catch::Matchers::StartsWith(path.string() + ": "));
  CHECK(testing::read_file(path) == "not a key");
}

TEST_CASE("an RSA account key is made when configured", "[acme][acme_issuer]") {
  testing::TempDir d;
  auto key =
      load_or_create_account_key(d.path() / "account.key", certwatch::pki::KeyType::rsa_2048);
  REQUIRE(key.ok());
  CHECK(*certwatch::pki::key_type_of(key->get()) == certwatch::pki::KeyType::rsa_2048);
}

TEST_CASE("the issued chain is judged against chain_trust, else trust, else the system bundle",
          "[acme][acme_issuer]") {
  certwatch::config::IssuerEntry issuer;
  issuer.acme.emplace();
  auto& a = *issuer.acme;
  CHECK(certwatch::config::issuer_chain_trust(issuer) ==
        std::vector<std::filesystem::path>{certwatch::pki::system_trust_file()});
  a.trust = {"/etc/step/root.pem"};
  CHECK(certwatch::config::issuer_chain_trust(issuer) == a.trust);
  a.chain_trust = {"/etc/step/chain-root.pem"};
  CHECK(certwatch::config::issuer_chain_trust(issuer) == a.chain_trust);
}

TEST_CASE("the set to deploy is the new key, the leaf and the chain as served",
          "[acme][acme_issuer]") {
  testing::Pki p;
  auto rq = p.server("broker");
  REQUIRE(p.issuer.issue(rq).ok());
  const auto chain = testing::read_file(rq.out_dir / "broker.chain.pem");
  auto key = certwatch::pki::private_key_from_pem(testing::read_file(rq.out_dir / "broker.key.pem"),
                                                  std::nullopt);
  REQUIRE(key.ok());
  auto root = p.issuer.ca_certificate("root-ca");
  REQUIRE(root.ok());
  auto set = assemble_issued(chain, key->get(), {*root});
  REQUIRE(set.ok());
  CHECK(set->files.chain == chain);
  auto leaf = certwatch::pki::Certificate::from_pem(set->files.cert);
  REQUIRE(leaf.ok());
  CHECK(leaf->same_as(*certwatch::pki::Certificate::from_pem(chain)));
  CHECK(certwatch::pki::load_bytes(set->files.cert, "cert")->certs.size() == 1);
  auto back = certwatch::pki::private_key_from_pem(set->files.key, std::nullopt);
  REQUIRE(back.ok());
  CHECK(certwatch::pki::key_matches(back->get(), leaf->public_key_object()));
  REQUIRE(set->anchors.size() == 1);
  CHECK(set->anchors[0].same_as(*root));
  // Another key than the CSR's, or nothing at all, is refused.
  auto other = certwatch::pki::generate_key(certwatch::pki::KeyType::ec_p256);
  auto wrong = assemble_issued(chain, other->get(), {});
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().message == "the ACME server's certificate is not for the key of the CSR");
  CHECK_FALSE(assemble_issued("", key->get(), {}).ok());
  CHECK(set->warnings.empty());
  // A chain that ends with the root: deployed without it, with a warning; the rest as served.
  auto with_root = assemble_issued(chain + root->pem(), key->get(), {*root});
  REQUIRE(with_root.ok());
  CHECK(certwatch::pki::load_bytes(with_root->files.chain, "chain")->certs.size() ==
        certwatch::pki::load_bytes(chain, "chain")->certs.size());
  CHECK(with_root->files.chain == chain);
  REQUIRE(with_root->warnings.size() == 1);
  CHECK_THAT(with_root->warnings[0], Catch::Matchers::Contains("ended with its root"));
}

TEST_CASE("each challenge setting makes its solver", "[acme][acme_issuer]") {
  boost::asio::io_context io;
  certwatch::config::AcmeChallenge c;
  c.listen = certwatch::config::ListenAddress{"127.0.0.1", 5002};
  CHECK(make_challenge_solver(io, c)->describe() == "http-01 listener on 127.0.0.1:5002");
  c.listen.reset();
  c.webroot = "/var/www/html";
  CHECK(make_challenge_solver(io, c)->describe() == "http-01 webroot /var/www/html");
  CHECK(make_challenge_solver(io, c)->type() == "http-01");
  c.type = certwatch::config::AcmeChallenge::Type::dns01;
  c.set = {"/usr/local/bin/dns-hook", "set"};
  CHECK(make_challenge_solver(io, c)->describe() == "dns-01 hook /usr/local/bin/dns-hook");
  CHECK(make_challenge_solver(io, c)->type() == "dns-01");
}
