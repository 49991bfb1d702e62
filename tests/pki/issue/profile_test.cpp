#include <catch2/catch.hpp>

#include <algorithm>
#include <ctime>

#include "pki/issue/issuer.h"
#include "support/fixtures.h"

using namespace certwatch;
using namespace certwatch::pki;

namespace {

// OIDs of the certificate's extensions, in order, with their critical flags.
std::vector<std::pair<std::string, bool>> extensions(const Certificate& c) {
  std::vector<std::pair<std::string, bool>> out;
  for (int i = 0; i < X509_get_ext_count(c.native()); ++i) {
    X509_EXTENSION* e = X509_get_ext(c.native(), i);
    out.emplace_back(OBJ_nid2sn(OBJ_obj2nid(X509_EXTENSION_get_object(e))),
                     X509_EXTENSION_get_critical(e) == 1);
  }
  std::sort(out.begin(), out.end());
  return out;
}

using Ext = std::vector<std::pair<std::string, bool>>;

}  // namespace

TEST_CASE("profiles carry exactly the seed extensions", "[pki][profile]") {
  testing::TempDir tmp;
  Issuer issuer(tmp.path());
  const int64_t now = std::time(nullptr);
  InitRequest init;
  init.subject = "/C=DE/O=Lab/CN=Lab Root CA";
  init.now = now;
  auto root = issuer.init(init);
  REQUIRE(root.ok());
  CHECK(extensions(root->cert) == Ext{{"basicConstraints", true}, {"keyUsage", true},
                                      {"subjectKeyIdentifier", false}});
  CHECK(root->cert.is_ca());
  CHECK_FALSE(root->cert.path_len());
  auto rku = root->cert.key_usage();
  CHECK((rku.critical && rku.key_cert_sign && rku.crl_sign && !rku.digital_signature));

  CaRequest ca;
  ca.name = "server-ca";
  ca.subject = "/C=DE/O=Lab/CN=Server CA";
  ca.now = now;
  auto inter = issuer.create_ca(ca);
  REQUIRE(inter.ok());
  CHECK(extensions(inter->cert) == Ext{{"authorityKeyIdentifier", false}, {"basicConstraints", true},
                                       {"keyUsage", true}, {"subjectKeyIdentifier", false}});
  CHECK(inter->cert.path_len() == 0L);
  CHECK(inter->cert.aki_keyid_hex() == root->cert.ski_hex());

  IssueRequest rq;
  rq.ca = "server-ca";
  rq.name = "mqtt";
  rq.subject = "/CN=mqtt.lab.local";
  rq.sans = {"DNS:mqtt.lab.local", "IP:127.0.0.1"};
  rq.out_dir = tmp / "out";
  rq.now = now;
  auto server = issuer.issue(rq);
  REQUIRE(server.ok());
  const Ext leaf_ext{{"authorityKeyIdentifier", false}, {"basicConstraints", false},
                     {"extendedKeyUsage", false},       {"keyUsage", true},
                     {"subjectAltName", false},         {"subjectKeyIdentifier", false}};
  CHECK(extensions(server->cert) == leaf_ext);
  CHECK_FALSE(server->cert.is_ca());
  CHECK(server->cert.has_basic_constraints());
  auto sku = server->cert.key_usage();
  CHECK((sku.critical && sku.digital_signature && !sku.key_encipherment && !sku.key_cert_sign));
  CHECK(server->cert.eku() == std::vector<std::string>{"serverAuth"});
  CHECK(server->cert.sans() == std::vector<SubjectAltName>{{SubjectAltName::Type::dns, "mqtt.lab.local"},
                                                           {SubjectAltName::Type::ip, "127.0.0.1"}});
  CHECK(server->cert.aki_keyid_hex() == inter->cert.ski_hex());

  rq.name = "mqtt-rsa";
  rq.key_type = KeyType::rsa_2048;
  auto rsa = issuer.issue(rq);
  REQUIRE(rsa.ok());
  auto rku2 = rsa->cert.key_usage();
  CHECK((rku2.critical && rku2.digital_signature && rku2.key_encipherment));

  rq.name = "dev-1";
  rq.profile = Profile::client;
  rq.key_type = KeyType::ed25519;
  rq.sans = {};
  rq.subject = "/CN=dev-1";
  auto client = issuer.issue(rq);
  REQUIRE(client.ok());
  CHECK(client->cert.eku() == std::vector<std::string>{"clientAuth"});
  CHECK(client->cert.sans().empty());
  CHECK(client->cert.public_key().type == "ED25519");
  auto cku = client->cert.key_usage();
  CHECK((cku.digital_signature && !cku.key_encipherment));
}

TEST_CASE("profile rules are checked before anything is built", "[pki][profile]") {
  ProfileParams p;
  p.profile = Profile::server;
  auto r = check_profile(p);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("SAN") != std::string::npos);
  p.profile = Profile::client;
  CHECK(check_profile(p).ok());
  p.path_len = 1;
  CHECK_FALSE(check_profile(p).ok());
  p.profile = Profile::intermediate;
  CHECK(check_profile(p).ok());
  p.path_len = -1;
  CHECK_FALSE(check_profile(p).ok());
  p.path_len.reset();
  p.sans = {{SubjectAltName::Type::dns, "x.lab"}};
  CHECK_FALSE(check_profile(p).ok());
  p.profile = Profile::server;
  p.sans = {{SubjectAltName::Type::dns, "bad host"}};
  CHECK_FALSE(check_profile(p).ok());

  CHECK(*parse_profile("server") == Profile::server);
  CHECK(*parse_profile("client") == Profile::client);
  CHECK_FALSE(parse_profile("email").ok());
  CHECK(to_string(Profile::intermediate) == "intermediate");
}
