// Acceptance for STARTTLS (issue #9, point 3): `certwatch probe --protocol P` against the
// scripted server of tests/support/starttls_server.h for every protocol, the server itself held
// to `openssl s_client -starttls` (a real client as the oracle of its dialogue), and a real
// vsftpd (Debian's light FTP server, AUTH TLS) run as a plain process on a free loopback port.
// The tests tagged [.starttls-e2e] are hidden until `certwatch probe` drives StartTlsDialogue;
// run them with `integration_tests "[.starttls-e2e]"`.
#include <catch2/catch.hpp>

#include "support/fixtures.h"
#include "support/pki_fixture.h"
#include "support/starttls_server.h"

using namespace testing;
using std::chrono::seconds;

namespace {

const std::vector<std::string> kProtocols{"smtp", "imap", "pop3", "ftp", "postgres"};

bool has_id(const RunResult& r, const std::string& id) {
  return r.out.find("\"id\":\"" + id + "\"") != std::string::npos;
}

RunResult probe(int port, const std::string& protocol, const fs::path& bundle) {
  return run({certwatch_bin().string(), "probe", "127.0.0.1:" + std::to_string(port), "--protocol", protocol,
              "--ca-bundle", bundle.string(), "--sni", "mqtt.lab.local", "--timeout", "5s", "--json"},
             seconds(60));
}

// What the client said in each dialogue, as the server's transcript shows it.
std::string expected_commands(const std::string& protocol) {
  if (protocol == "smtp") return "STARTTLS\n";
  if (protocol == "imap") return "STARTTLS\n";
  if (protocol == "pop3") return "STLS\n";
  if (protocol == "ftp") return "AUTH TLS\n";
  return "0000000804d2162f\n";  // SSLRequest
}

// A chain of leaf <- int2 <- int1 <- root, served leaf first; the bundle holds the root.
struct Served {
  TempDir tmp;
  PkiFixture f{tmp / "pki"};
  DeepChain d = make_deep_chain(f);
  fs::path chain = f.cat("served.pem", {d.leaf.cert, d.int2.cert, d.int1.cert});
};

}  // namespace

TEST_CASE("the scripted STARTTLS server satisfies openssl s_client -starttls", "[integration][probe][starttls]") {
  Served s;
  for (const auto& protocol : kProtocols) {
    INFO(protocol);
    StartTlsServer good(protocol, s.chain, s.d.leaf.key);
    const RunResult ok = run({"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(good.port()),
                              "-starttls", protocol, "-CAfile", s.d.bundle.string(), "-verify_return_error",
                              "-servername", "mqtt.lab.local", "-brief"},
                             seconds(30));
    INFO(ok.err);
    CHECK(ok.exit_code == 0);
    CHECK(eventually([&] { return good.handshakes() == 1; }, seconds(5)));
    StartTlsServer refusing(protocol, s.chain, s.d.leaf.key, StartTlsBehaviour::refuse);
    const RunResult no = run({"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(refusing.port()),
                              "-starttls", protocol, "-brief"},
                             seconds(30));
    CHECK(no.exit_code != 0);
    CHECK(refusing.handshakes() == 0);
  }
}

TEST_CASE("probe speaks STARTTLS before it judges the served chain", "[integration][probe][starttls][.starttls-e2e]") {
  Served s;
  for (const auto& protocol : kProtocols) {
    INFO(protocol);
    SECTION("accepted: exit 0, the served chain judged (" + protocol + ")") {
      StartTlsServer server(protocol, s.chain, s.d.leaf.key);
      const RunResult r = probe(server.port(), protocol, s.d.bundle);
      INFO(r.out << r.err << "\ntranscript:\n" << server.transcript());
      CHECK(r.exit_code == 0);
      CHECK(r.out.find("\"trusted\":true") != std::string::npos);
      CHECK(r.out.find("\"subject_cn\":\"deep Intermediate 1\"") != std::string::npos);
      CHECK_FALSE(has_id(r, "endpoint.protocol_failed"));
      CHECK(server.handshakes() == 1);
      const std::string said = server.transcript();
      CHECK(said.size() >= expected_commands(protocol).size());
      CHECK(said.substr(said.size() - expected_commands(protocol).size()).find(expected_commands(protocol)) !=
            std::string::npos);
      if (protocol == "smtp") CHECK(said.rfind("EHLO ", 0) == 0);
    }
    SECTION("refused: endpoint.protocol_failed with the server's words (" + protocol + ")") {
      StartTlsServer server(protocol, s.chain, s.d.leaf.key, StartTlsBehaviour::refuse);
      const RunResult r = probe(server.port(), protocol, s.d.bundle);
      INFO(r.out << r.err);
      CHECK(r.exit_code == 2);
      CHECK(has_id(r, "endpoint.protocol_failed"));
      const std::string words = protocol == "postgres" ? "does not accept SSL" : "TLS not available";
      CHECK(r.out.find(words) != std::string::npos);
      CHECK(server.handshakes() == 0);
    }
    SECTION("not the protocol at all: endpoint.protocol_failed (" + protocol + ")") {
      StartTlsServer server(protocol, s.chain, s.d.leaf.key, StartTlsBehaviour::garbage);
      const RunResult r = probe(server.port(), protocol, s.d.bundle);
      INFO(r.out << r.err);
      CHECK(r.exit_code == 2);
      CHECK(has_id(r, "endpoint.protocol_failed"));
      CHECK(r.out.find("HTTP/1.0 400") != std::string::npos);
    }
  }
}

TEST_CASE("probe reaches a real vsftpd with AUTH TLS", "[integration][probe][starttls][.starttls-e2e]") {
  // vsftpd runs as whoever starts it (run_as_launching_user) on a free loopback port; it needs
  // a config owned by that user, an empty directory it does not chroot into, and one of
  // anonymous or local access enabled to start at all (the probe never logs in).
  const fs::path vsftpd = "/usr/sbin/vsftpd";
  INFO("vsftpd is installed by scripts/setup.sh");
  REQUIRE(fs::exists(vsftpd));
  Served s;
  fs::create_directories(s.tmp / "empty");
  const int port = free_port();
  const fs::path conf = s.tmp / "vsftpd.conf";
  write_file(conf, "listen=YES\nlisten_ipv6=NO\nlisten_address=127.0.0.1\nlisten_port=" + std::to_string(port) +
                       "\nbackground=NO\nrun_as_launching_user=YES\nanonymous_enable=YES\nanon_root=" +
                       (s.tmp / "empty").string() + "\nlocal_enable=NO\nssl_enable=YES\nrsa_cert_file=" +
                       s.chain.string() + "\nrsa_private_key_file=" + s.d.leaf.key.string() +
                       "\nssl_ciphers=HIGH\nsecure_chroot_dir=" + (s.tmp / "empty").string() +
                       "\nxferlog_enable=NO\nseccomp_sandbox=NO\nisolate=NO\nisolate_network=NO\n");
  Process server({vsftpd.string(), conf.string()}, s.tmp / "vsftpd.log");
  INFO(read_file(s.tmp / "vsftpd.log"));
  REQUIRE(wait_for_port(port, seconds(10)));
  const RunResult r = probe(port, "ftp", s.d.bundle);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("\"trusted\":true") != std::string::npos);
  CHECK(r.out.find("\"subject_cn\":\"deep Intermediate 1\"") != std::string::npos);
  // Against the same server, the IMAP dialogue meets an FTP greeting: a clear protocol failure.
  const RunResult wrong = probe(port, "imap", s.d.bundle);
  INFO(wrong.out);
  CHECK(has_id(wrong, "endpoint.protocol_failed"));
  CHECK(wrong.out.find("vsFTPd") != std::string::npos);
  CHECK(wrong.exit_code == 2);
}
