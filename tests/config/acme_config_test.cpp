// issuers[].acme (issue #14): good configs load with their defaults; every bad input is an
// error at its line:col.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "config/loader.h"
#include "support/fixtures.h"

namespace {

std::vector<std::string> acme_errors(const std::string& text) {
  auto r = certwatch::config::load_config_string(text, "c.yaml", "/nonexistent-base");
  if (r) return {};
  std::vector<std::string> out;
  std::istringstream in(r.error().message);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

certwatch::config::Config acme_ok(const std::string& text, const std::filesystem::path& base = "/base") {
  auto r = certwatch::config::load_config_string(text, "c.yaml", base);
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.ok());
  return *r;
}

const std::string kManaged =
    "managed:\n  - {name: m, issuer: le, subject: /CN=a, sans: ['DNS:a.example'], cert: a, key: "
    "b}\n";

}  // namespace

TEST_CASE("an ACME issuer with only a directory and a challenge gets the documented defaults",
          "[config][acme]") {
  const auto c = acme_ok(
      "issuers:\n"
      "  - name: le\n"
      "    acme:\n"
      "      directory: https://acme.example/directory\n"
      "      challenge: {type: http-01, listen: \"0.0.0.0:80\"}\n" +
      kManaged);
  REQUIRE(c.issuers.size() == 1);
  REQUIRE(c.issuers[0].acme.has_value());
  const auto& a = *c.issuers[0].acme;
  CHECK(a.directory == "https://acme.example/directory");
  CHECK(a.contact.empty());
  CHECK(a.trust.empty());
  CHECK(a.chain_trust.empty());
  CHECK_FALSE(a.eab.has_value());
  CHECK(a.account_key_type == certwatch::pki::KeyType::ec_p256);
  CHECK(a.request_timeout == std::chrono::seconds(30));
  CHECK(a.order_timeout == std::chrono::minutes(10));
  CHECK(a.challenge.type == certwatch::config::AcmeChallenge::Type::http01);
  REQUIRE(a.challenge.listen.has_value());
  CHECK(a.challenge.listen->to_string() == "0.0.0.0:80");
  CHECK_FALSE(a.challenge.webroot.has_value());
}

TEST_CASE("every ACME key is read: contact, trust, EAB, key type, timeouts, a dns-01 hook",
          "[config][acme]") {
  testing::TempDir d;
  std::ofstream(d.path() / "ca.pem") << "x";
  std::ofstream(d.path() / "hmac") << "c2VjcmV0";
  const auto c = acme_ok(
      "issuers:\n"
      "  - name: le\n"
      "    acme:\n"
      "      directory: https://ca:9000/acme/acme/directory\n"
      "      contact: [\"mailto:ops@example.org\"]\n"
      "      trust: [ca.pem]\n"
      "      chain_trust: [ca.pem]\n"
      "      eab: {key_id: kid-1, hmac_key_file: hmac}\n"
      "      account_key_type: rsa-3072\n"
      "      request_timeout: 5s\n"
      "      order_timeout: 2m\n"
      "      challenge:\n"
      "        type: dns-01\n"
      "        set: [/usr/local/bin/dns, set, \"{name}\", \"{value}\"]\n"
      "        clear: [/usr/local/bin/dns, clear, \"{name}\", \"{identifier}\"]\n"
      "        propagation: 30s\n"
      "        hook_timeout: 2m\n" +
          kManaged,
      d.path());
  const auto& a = *c.issuers[0].acme;
  CHECK(a.contact == std::vector<std::string>{"mailto:ops@example.org"});
  CHECK(a.trust == std::vector<std::filesystem::path>{d.path() / "ca.pem"});
  CHECK(a.chain_trust == std::vector<std::filesystem::path>{d.path() / "ca.pem"});
  REQUIRE(a.eab.has_value());
  CHECK(a.eab->key_id == "kid-1");
  CHECK(a.eab->hmac_key_file == d.path() / "hmac");
  CHECK(a.account_key_type == certwatch::pki::KeyType::rsa_3072);
  CHECK(a.request_timeout == std::chrono::seconds(5));
  CHECK(a.order_timeout == std::chrono::minutes(2));
  CHECK(a.challenge.type == certwatch::config::AcmeChallenge::Type::dns01);
  CHECK(a.challenge.set ==
        std::vector<std::string>{"/usr/local/bin/dns", "set", "{name}", "{value}"});
  CHECK(a.challenge.clear.size() == 4);
  CHECK(a.challenge.propagation == std::chrono::seconds(30));
  CHECK(a.challenge.hook_timeout == std::chrono::minutes(2));
}

TEST_CASE("an http-01 webroot is a path relative to the config", "[config][acme]") {
  const auto c = acme_ok(
      "issuers: [{name: le, acme: {directory: \"https://a/d\", challenge: {type: http-01, webroot: "
      "www}}}]\n" +
      kManaged);
  CHECK(c.issuers[0].acme->challenge.webroot == std::filesystem::path("/base/www"));
}

TEST_CASE("an issuer is either built-in or ACME, never both or neither", "[config][acme][errors]") {
  CHECK(
      acme_errors("issuers:\n  - name: le\n    pki_dir: /p\n    acme: {directory: \"https://a/d\", "
                  "challenge: {type: http-01, listen: \"127.0.0.1:80\"}}\n" +
                  kManaged) ==
      std::vector<std::string>{"c.yaml:3:5: issuers[0].pki_dir: an ACME issuer has no pki_dir "
                               "(give either acme: or pki_dir, not both)"});
  CHECK(acme_errors("issuers:\n  - name: le\n" + kManaged) ==
        std::vector<std::string>{"c.yaml:2:5: issuers[0]: give pki_dir (a certwatch PKI directory) "
                                 "or acme: (an ACME CA)"});
}

TEST_CASE("bad ACME values are errors at their position", "[config][acme][errors]") {
  const std::string head = "issuers:\n  - name: le\n    acme:\n";
  CHECK(acme_errors(head +
                    "      directory: http://a/d\n      challenge: {type: http-01, listen: "
                    "\"127.0.0.1:80\"}\n" +
                    kManaged) ==
        std::vector<std::string>{"c.yaml:4:18: issuers[0].acme.directory: bad directory URL "
                                 "'http://a/d': expected https://HOST[:PORT]/PATH"});
  CHECK(acme_errors(head +
                    "      directory: https://a/d\n      contact: [ops@example.org]\n"
                    "      challenge: {type: http-01, listen: \"127.0.0.1:80\"}\n" +
                    kManaged) ==
        std::vector<std::string>{"c.yaml:5:17: issuers[0].acme.contact[0]: bad contact "
                                 "'ops@example.org': expected mailto:NAME@DOMAIN"});
  CHECK(acme_errors(head +
                    "      directory: https://a/d\n      account_key_type: ed25519\n"
                    "      challenge: {type: http-01, listen: \"127.0.0.1:80\"}\n" +
                    kManaged)
            .front()
            .starts_with("c.yaml:5:25: issuers[0].acme.account_key_type: bad value 'ed25519'"));
  CHECK(acme_errors(head +
                    "      directory: https://a/d\n      eab: {key_id: k}\n"
                    "      challenge: {type: http-01, listen: \"127.0.0.1:80\"}\n" +
                    kManaged) ==
        std::vector<std::string>{
            "c.yaml:5:12: missing required key 'hmac_key_file' in issuers[0].acme.eab"});
  CHECK(acme_errors(
            head +
            "      directory: https://a/d\n      request_timeout: 10m\n      order_timeout: 1m\n"
            "      challenge: {type: http-01, listen: \"127.0.0.1:80\"}\n" +
            kManaged) ==
        std::vector<std::string>{
            "c.yaml:4:7: issuers[0].acme: request_timeout must be shorter than order_timeout"});
  CHECK(
      acme_errors(head + "      directory: https://a/d\n" + kManaged) ==
      std::vector<std::string>{"c.yaml:4:7: missing required key 'challenge' in issuers[0].acme"});
}

TEST_CASE("challenge settings must fit their type", "[config][acme][errors]") {
  const std::string head =
      "issuers:\n  - name: le\n    acme:\n      directory: https://a/d\n      challenge:\n";
  CHECK(acme_errors(head + "        type: http-01\n" + kManaged) ==
        std::vector<std::string>{
            "c.yaml:6:9: issuers[0].acme.challenge: an http-01 challenge needs exactly one of "
            "listen: "
            "\"ADDR:PORT\" (the agent answers) or webroot: DIR (a web server serves the file)"});
  CHECK(acme_errors(head +
                    "        type: http-01\n        listen: \"127.0.0.1:80\"\n        set: [x]\n" +
                    kManaged) ==
        std::vector<std::string>{
            "c.yaml:8:9: issuers[0].acme.challenge.set: not a key of a http-01 challenge"});
  CHECK(acme_errors(head +
                    "        type: dns-01\n        set: [h]\n        clear: [h]\n        hook_timeout: 2h\n" +
                    kManaged)
            .front()
            .starts_with("c.yaml:9:23: issuers[0].acme.challenge.hook_timeout: "));
  CHECK(acme_errors(head + "        type: http-01\n        listen: \"127.0.0.1\"\n" + kManaged)
            .front()
            .starts_with("c.yaml:7:17: issuers[0].acme.challenge.listen: "));
  CHECK(acme_errors(head +
                    "        type: dns-01\n        set: [hook, \"{nmae}\"]\n        clear: []\n" +
                    kManaged) ==
        std::vector<std::string>{
            "c.yaml:7:14: issuers[0].acme.challenge.set: unknown placeholder '{nmae}' (known: "
            "{name}, {value}, "
            "{identifier})",
            "c.yaml:8:16: issuers[0].acme.challenge.clear: needs at least the program to run"});
  CHECK(acme_errors(head + "        type: dns-01\n        set: [hook]\n" + kManaged) ==
        std::vector<std::string>{
            "c.yaml:6:9: missing required key 'clear' in issuers[0].acme.challenge"});
  CHECK(acme_errors(head + "        type: tls-alpn-01\n" + kManaged)
            .front()
            .starts_with("c.yaml:6:15: issuers[0].acme.challenge.type: bad value 'tls-alpn-01'"));
}

TEST_CASE("the EAB key file must exist when files are checked", "[config][acme][errors]") {
  auto r = certwatch::config::load_config_string(
      "issuers: [{name: le, acme: {directory: \"https://a/d\", eab: {key_id: k, hmac_key_file: "
      "/nonexistent/h}, "
      "challenge: {type: http-01, listen: \"127.0.0.1:80\"}}}]\n" +
          kManaged,
      "c.yaml", "/base", certwatch::config::LoadOptions{.check_files = true});
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message,
             Catch::Matchers::Contains(
                 "issuers[0].acme.eab.hmac_key_file: /nonexistent/h does not exist"));
}
