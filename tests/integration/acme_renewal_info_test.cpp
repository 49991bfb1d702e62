// ARI (renewal_info) end to end: pebble 2.4 offers no renewalInfo (acme_client_faults_test), so
// a small HTTPS server plays the CA: `openssl s_server -HTTP` serves a directory with
// renewalInfo and the answer for the certificate id computed here from openssl's own view of
// the certificate (AKI keyIdentifier and serial), as the draft describes it.
#include <catch2/catch.hpp>

#include "integration/acme_harness.h"
#include "pki/jws.h"

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
  return pki::base64url(bytes_of_hex(keyid)) + "." + pki::base64url(serial_bytes);
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

  std::optional<pki::Result<RenewalInfo>> renewal_info(Client& c, const std::string& der) {
    return run_until_done<RenewalInfo>(io, [&](std::function<void(pki::Result<RenewalInfo>)> done) {
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
