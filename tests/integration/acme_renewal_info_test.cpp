// ARI (renewal_info) end to end: pebble 2.4 offers no renewalInfo (acme_client_faults_test), so
// a small HTTPS server plays the CA: `openssl s_server -HTTP` serves a directory with
// renewalInfo and the answer for the certificate id computed here from openssl's own view of
// the certificate (AKI keyIdentifier and serial), as the draft describes it. The agent's
// scheduler puts a managed certificate's renewal inside the window that server suggests.
#include <catch2/catch.hpp>

#include <ctime>
#include <thread>

#include "integration/acme_harness.h"
#include "integration/renew_harness.h"
#include "pki/acme/jws.h"

using namespace acme_test;

namespace {

std::string bytes_of_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

std::string hex_digits(const std::string& text) {
  std::string out;
  for (char c : text)
    if (std::isxdigit(static_cast<unsigned char>(c))) out.push_back(c);
  return out;
}

// The draft's certificate id, by hand from `openssl x509` output.
std::string expected_cert_id(const std::string& cert_pem_path) {
  auto aki = testing::run(
      {"openssl", "x509", "-in", cert_pem_path, "-noout", "-ext", "authorityKeyIdentifier"});
  auto serial = testing::run({"openssl", "x509", "-in", cert_pem_path, "-noout", "-serial"});
  REQUIRE(aki.exit_code == 0);
  REQUIRE(serial.exit_code == 0);
  const std::string keyid = hex_digits(aki.out.substr(aki.out.find('\n') + 1));
  std::string serial_bytes = bytes_of_hex(hex_digits(serial.out.substr(serial.out.find('=') + 1)));
  if (static_cast<unsigned char>(serial_bytes[0]) & 0x80)
    serial_bytes.insert(0, 1, '\0');  // DER INTEGER
  return certwatch::pki::base64url(bytes_of_hex(keyid)) + "." + certwatch::pki::base64url(serial_bytes);
}

std::string http_file(const std::string& headers, const std::string& body) {
  return "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n" + headers + "\r\n" + body;
}

// `openssl s_server -HTTP` on a free port serving tmp/www (each file holds headers and body),
// with a certificate for IP:127.0.0.1 only from a `certwatch pki` root; the directory at /dir.
struct FakeCa {
  testing::TempDir tmp;
  std::string pki = (tmp / "pki").string();
  std::string cert = (tmp / "out" / "ca-server.cert.pem").string();
  int port = testing::free_port();
  std::string base = "https://127.0.0.1:" + std::to_string(port);
  std::filesystem::path www = tmp / "www";
  std::unique_ptr<testing::Process> server;
  boost::asio::io_context io;

  FakeCa() {
    pki_cli::ok({"pki", "init", "--dir", pki, "--subject", "/CN=ARI Test Root"});
    pki_cli::ok({"pki", "issue", "--dir", pki, "--ca", "root-ca", "--profile", "server", "--name",
                 "ca-server", "--subject", "/CN=ari", "--san", "IP:127.0.0.1", "--out",
                 (tmp / "out").string()});
    std::filesystem::create_directories(www / "renewal-info");
    testing::write_file(
        www / "dir", http_file("", "{\"newNonce\":\"" + base + "/nonce\",\"newAccount\":\"" + base +
                                       "/acct\",\"newOrder\":\"" + base +
                                       "/order\",\"renewalInfo\":\"" + base + "/renewal-info\"}"));
    server = std::make_unique<testing::Process>(
        std::vector<std::string>{
            "sh", "-c",
            "cd " + www.string() +
                " && exec openssl s_server -quiet -HTTP -accept 127.0.0.1:" + std::to_string(port) +
                " -cert " + cert + " -key " + (tmp / "out" / "ca-server.key.pem").string()},
        tmp / "s_server.log");
    REQUIRE(testing::wait_for_port(port, std::chrono::seconds(10)));
  }

  std::unique_ptr<Client> client(const std::string& directory_url) {
    ClientSettings settings;
    settings.directory_url = directory_url;
    settings.server_trust = {std::filesystem::path(pki) / "ca-bundle.pem"};
    settings.request_timeout = std::chrono::seconds(10);
    return Client::make(io, settings, new_key());
  }

  std::optional<certwatch::Result<RenewalInfo>> renewal_info(Client& c, const std::string& der) {
    return run_until_done<RenewalInfo>(io, [&](std::function<void(certwatch::Result<RenewalInfo>)> done) {
      c.renewal_info(der, std::move(done));
    });
  }
};

}  // namespace

TEST_CASE("acme: renewal_info reads the suggested window from the directory's renewalInfo",
          "[integration][acme]") {
  FakeCa ca;
  const std::string id = expected_cert_id(ca.cert);
  auto der = testing::run({"openssl", "x509", "-in", ca.cert, "-outform", "DER"});
  REQUIRE(der.exit_code == 0);
  testing::write_file(
      ca.www / "renewal-info" / id,
      http_file(
          "Retry-After: 21600\r\n",
          R"({"suggestedWindow":{"start":"2026-11-28T08:10:00Z","end":"2026-11-29T08:10:00+01:00"},)"
          R"("explanationURL":"https://ca.example/ari-why"})"));
  auto client = ca.client(ca.base + "/dir");
  auto r = ca.renewal_info(*client, der.out);
  REQUIRE(r.has_value());
  INFO((r->ok() ? "" : r->error().message)
       << "\ns_server: " << testing::read_file(ca.tmp / "s_server.log"));
  REQUIRE(r->ok());
  CHECK((*r)->window_start == 1795853400);
  CHECK((*r)->window_end == 1795853400 + 86400 - 3600);
  CHECK((*r)->explanation_url == "https://ca.example/ari-why");
  CHECK((*r)->retry_after == 21600);

  // A certificate without an AKI cannot be asked about: an error before any request.
  auto none = testing::sh(
      "cd " + ca.tmp.path().string() +
      " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k.pem"
      " -subj /CN=x -addext authorityKeyIdentifier=none -addext subjectKeyIdentifier=none"
      " -outform DER -out none.der 2>&1");
  REQUIRE(none.exit_code == 0);
  auto refused = ca.renewal_info(*client, testing::read_file(ca.tmp / "none.der"));
  REQUIRE(refused.has_value());
  REQUIRE_FALSE(refused->ok());
  CHECK(refused->error().message.find("authority key identifier") != std::string::npos);
}

TEST_CASE("acme: the HTTPS client checks the host name and limits the response size",
          "[integration][acme]") {
  FakeCa ca;
  auto der = testing::run({"openssl", "x509", "-in", ca.cert, "-outform", "DER"});
  REQUIRE(der.exit_code == 0);
  // The certificate names IP:127.0.0.1 only; "localhost" reaches the same server.
  auto by_name = ca.client("https://localhost:" + std::to_string(ca.port) + "/dir");
  auto mismatch = ca.renewal_info(*by_name, der.out);
  REQUIRE(mismatch.has_value());
  REQUIRE_FALSE(mismatch->ok());
  CHECK(mismatch->error().message.find("certificate verification failed: hostname mismatch") !=
        std::string::npos);
  // A directory of 2 MiB is refused at the limit, not read into memory whole.
  testing::write_file(ca.www / "huge", http_file("", std::string(2 << 20, ' ')));
  auto huge = ca.client(ca.base + "/huge");
  auto big = ca.renewal_info(*huge, der.out);
  REQUIRE(big.has_value());
  REQUIRE_FALSE(big->ok());
  CHECK(big->error().message == "acme: directory: response from 127.0.0.1:" +
                                    std::to_string(ca.port) + " is larger than 1048576 bytes");
}

namespace {

std::string rfc3339(int64_t t) {
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int64_t next_renewal(agent_test::AgentProcess& agent) {
  const auto s = agent_test::series(agent.metrics(), "certwatch_renewal_next_timestamp_seconds",
                                    {"name=\"broker\""});
  return s.size() == 1 ? static_cast<int64_t>(agent_test::value_of(s.front())) : -1;
}

// The lab's 90-day managed entry with its issuer replaced by the fake CA (ACME).
std::string fake_ca_config(const renew_test::RenewLab& lab, const FakeCa& ca) {
  auto text = lab.config("90d", "", "", false);
  const std::string builtin = "  - {name: server-ca, pki_dir: " + lab.pki.string() + "}\n";
  REQUIRE(text.find(builtin) != std::string::npos);
  text.replace(text.find(builtin), builtin.size(),
               "  - name: server-ca\n    acme:\n      directory: " + ca.base + "/dir\n      trust: [" +
                   ca.pki + "/ca-bundle.pem]\n      challenge: {type: http-01, listen: \"127.0.0.1:" +
                   std::to_string(testing::free_port()) + "\"}\n");
  return text;
}

// The fake CA, and a 90-day certificate from the lab's built-in CA deployed by the command line.
struct DeployedLab {
  FakeCa ca;
  testing::TempDir tmp;
  renew_test::RenewLab lab{tmp.path()};
  std::filesystem::path leaf = lab.certs / "server.cert.pem";
  DeployedLab() { REQUIRE(lab.renew(lab.write_config(lab.config("90d", "", "", false))).exit_code == 0); }
};

}  // namespace

TEST_CASE(
    "acme: the agent renews inside the CA's ARI window, and on its own schedule when the CA "
    "has none for the certificate",
    "[integration][acme]") {
  DeployedLab d;
  auto& [ca, tmp, lab, leaf] = d;
  const int64_t not_after = agent_test::openssl_enddate(leaf);
  REQUIRE(not_after > 0);
  // The same entry, now renewed through an ACME CA that offers renewalInfo.
  const auto config = lab.write_config(fake_ca_config(lab, ca));

  {  // No answer for this certificate: a third of the lifetime before notAfter, less the jitter.
    agent_test::AgentProcess agent(tmp.path(), config, lab.http_port);
    REQUIRE(agent.wait_ready());
    REQUIRE(testing::eventually(
        [&] { return agent.log().find("no renewal information (ARI)") != std::string::npos; },
        std::chrono::seconds(15)));
    const int64_t third = 30 * 86400, jitter = 90 * 86400 / 20;
    const int64_t next = next_renewal(agent);
    INFO(agent.log());
    CHECK(next <= not_after - third);
    CHECK(next >= not_after - third - jitter);
  }

  // The CA asks for a renewal in the coming hour's second half.
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  const int64_t start = now + 1800, end = now + 3600;
  testing::write_file(
      ca.www / "renewal-info" / expected_cert_id(leaf.string()),
      http_file("Retry-After: 3600\r\n", "{\"suggestedWindow\":{\"start\":\"" + rfc3339(start) +
                                             "\",\"end\":\"" + rfc3339(end) + "\"}}"));
  agent_test::AgentProcess agent(tmp.path(), config, lab.http_port);
  REQUIRE(agent.wait_ready());
  const bool in_window = testing::eventually(
      [&] {
        const int64_t next = next_renewal(agent);
        return next >= start && next <= end;
      },
      std::chrono::seconds(15));
  INFO(agent.log());
  CHECK(in_window);
  CHECK(agent.log().find("the CA suggests renewing between " + rfc3339(start)) !=
        std::string::npos);
  const auto api = agent_test::http_get(lab.http_port, "/api/v1/renewals").body;
  CHECK(api.find("\"due_by\":\"ari\"") != std::string::npos);
}

TEST_CASE("acme: the agent asks the CA again after its Retry-After and follows a window that moved",
          "[integration][acme]") {
  DeployedLab d;
  auto& [ca, tmp, lab, leaf] = d;
  auto text = fake_ca_config(lab, ca);
  // The shortest wait between two questions (agent.renew_retry) down to a second for the test.
  const std::string agent_head = "agent:\n";
  REQUIRE(text.rfind(agent_head, 0) == 0);
  text.insert(agent_head.size(), "  renew_retry: 1s\n");
  const auto config = lab.write_config(text);
  const auto window_file = ca.www / "renewal-info" / expected_cert_id(leaf.string());
  const auto serve = [&](int64_t start, int64_t end) {
    testing::write_file(window_file, http_file("Retry-After: 1\r\n", "{\"suggestedWindow\":{\"start\":\"" +
                                                                          rfc3339(start) + "\",\"end\":\"" +
                                                                          rfc3339(end) + "\"}}"));
  };
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  serve(now + 86400, now + 2 * 86400);
  agent_test::AgentProcess agent(tmp.path(), config, lab.http_port);
  REQUIRE(agent.wait_ready());
  const auto suggestions = [&] {
    size_t n = 0;
    const std::string log = agent.log();
    for (size_t at = log.find("the CA suggests"); at != std::string::npos; at = log.find("the CA suggests", at + 1))
      ++n;
    return n;
  };
  REQUIRE(testing::eventually([&] { return suggestions() == 1; }, std::chrono::seconds(15)));
  const int64_t first = next_renewal(agent);
  CHECK(first >= now + 86400);
  CHECK(first <= now + 2 * 86400);
  // Asked again every second: the same window keeps the moment drawn from it.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  CHECK(suggestions() == 1);
  CHECK(next_renewal(agent) == first);
  // The CA moves the window to the coming hour (a revocation ahead): the agent follows it.
  serve(now + 600, now + 3600);
  const bool moved = testing::eventually(
      [&] {
        const int64_t next = next_renewal(agent);
        return next >= now + 600 && next <= now + 3600;
      },
      std::chrono::seconds(15));
  INFO(agent.log());
  CHECK(moved);
  CHECK(suggestions() == 2);
  CHECK(agent.log().find("the CA suggests renewing between " + rfc3339(now + 600)) != std::string::npos);
}
