// Acceptance for STARTTLS (issue #9, point 3): `certwatch probe --protocol P` against the
// scripted server of tests/support/starttls_server.h for every protocol, the server itself held
// to `openssl s_client -starttls` (a real client as the oracle of its dialogue), and a real
// vsftpd (Debian's light FTP server, AUTH TLS) and nginx's mail proxy (SMTP, IMAP, POP3), run
// as plain processes on free loopback ports.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>

#include "agent/probe/starttls.h"
#include "pki/x509/ossl_ptr.h"
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

// StartTlsDialogue driven over a blocking socket as a prober would (read what arrived, feed
// it, write what it asks), then an OpenSSL handshake on the same socket: what the dialogue
// says about a real server, independent of the prober that will drive it in the agent.
struct Driven {
  std::optional<std::string> failure;
  int served_certificates = 0;  // 0 unless the handshake completed
};

Driven drive(int port, const std::string& protocol) {
  Driven out;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(static_cast<uint16_t>(port));
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  certwatch::agent::probe::StartTlsDialogue d(*certwatch::agent::probe::parse_starttls_protocol(protocol), "driver.test");
  certwatch::agent::probe::StartTlsNext step = d.start();
  for (int i = 0; i < 100 && step && !step->ready; ++i) {
    if (!step->send.empty()) REQUIRE(::send(fd, step->send.data(), step->send.size(), MSG_NOSIGNAL) > 0);
    pollfd p{fd, POLLIN, 0};
    REQUIRE(::poll(&p, 1, 5000) == 1);
    char buf[512];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    step = n > 0 ? d.received(std::string_view(buf, static_cast<size_t>(n))) : d.closed();
  }
  if (!step) out.failure = step.error().message;
  if (step && step->ready) {
    certwatch::pki::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_client_method()));
    certwatch::pki::UniquePtr<SSL> ssl(SSL_new(ctx.get()));
    SSL_set_fd(ssl.get(), fd);
    SSL_set_tlsext_host_name(ssl.get(), "mqtt.lab.local");
    if (SSL_connect(ssl.get()) == 1) out.served_certificates = sk_X509_num(SSL_get_peer_cert_chain(ssl.get()));
    SSL_shutdown(ssl.get());
  }
  ::close(fd);
  return out;
}

}  // namespace

TEST_CASE("StartTlsDialogue over a socket reaches the handshake of the scripted server", "[integration][probe][starttls]") {
  Served s;
  for (const auto& protocol : kProtocols) {
    INFO(protocol);
    StartTlsServer good(protocol, s.chain, s.d.leaf.key);
    const Driven ok = drive(good.port(), protocol);
    CHECK(ok.failure.value_or("") == "");
    CHECK(ok.served_certificates == 3);
    CHECK(eventually([&] { return good.handshakes() == 1; }, seconds(5)));
    StartTlsServer refusing(protocol, s.chain, s.d.leaf.key, StartTlsBehaviour::refuse);
    const Driven no = drive(refusing.port(), protocol);
    CHECK(no.failure.value_or("").find(protocol == "postgres" ? "does not accept SSL" : "TLS not available") !=
          std::string::npos);
    CHECK(no.served_certificates == 0);
  }
}

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

TEST_CASE("probe speaks STARTTLS before it judges the served chain", "[integration][probe][starttls]") {
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

// A real vsftpd run as whoever starts it (run_as_launching_user) on a free loopback port; it
// needs a config owned by that user, an empty directory it does not chroot into, and one of
// anonymous or local access enabled to start at all (nothing here logs in).
struct Vsftpd {
  int port = free_port();
  std::unique_ptr<Process> process;
  explicit Vsftpd(const Served& s) {
    const fs::path vsftpd = "/usr/sbin/vsftpd";
    INFO("vsftpd is installed by scripts/setup.sh");
    REQUIRE(fs::exists(vsftpd));
    const fs::path empty = s.tmp / "empty", conf = s.tmp / "vsftpd.conf";
    fs::create_directories(empty);
    write_file(conf, "listen=YES\nlisten_ipv6=NO\nlisten_address=127.0.0.1\nlisten_port=" + std::to_string(port) +
                         "\nbackground=NO\nrun_as_launching_user=YES\nanonymous_enable=YES\nanon_root=" +
                         empty.string() + "\nlocal_enable=NO\nssl_enable=YES\nrsa_cert_file=" + s.chain.string() +
                         "\nrsa_private_key_file=" + s.d.leaf.key.string() +
                         "\nssl_ciphers=HIGH\nsecure_chroot_dir=" + empty.string() +
                         "\nxferlog_enable=NO\nseccomp_sandbox=NO\nisolate=NO\nisolate_network=NO\n");
    process = std::make_unique<Process>(std::vector<std::string>{vsftpd.string(), conf.string()}, s.tmp / "vsftpd.log");
    INFO(read_file(s.tmp / "vsftpd.log"));
    REQUIRE(wait_for_port(port, seconds(10)));
  }
};

TEST_CASE("StartTlsDialogue reaches the handshake of a real vsftpd", "[integration][probe][starttls]") {
  Served s;
  Vsftpd server(s);
  const Driven ok = drive(server.port, "ftp");
  CHECK(ok.failure.value_or("") == "");
  CHECK(ok.served_certificates == 3);
  // The IMAP dialogue meets an FTP greeting: a clear failure that quotes it.
  CHECK(drive(server.port, "imap").failure.value_or("") == "not an IMAP greeting: 220 (vsFTPd 3.0.3)");
}

TEST_CASE("probe reaches a real vsftpd with AUTH TLS", "[integration][probe][starttls]") {
  Served s;
  Vsftpd server(s);
  const RunResult r = probe(server.port, "ftp", s.d.bundle);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("\"trusted\":true") != std::string::npos);
  CHECK(r.out.find("\"subject_cn\":\"deep Intermediate 1\"") != std::string::npos);
  const RunResult wrong = probe(server.port, "imap", s.d.bundle);
  INFO(wrong.out);
  CHECK(has_id(wrong, "endpoint.protocol_failed"));
  CHECK(wrong.out.find("vsFTPd") != std::string::npos);
  CHECK(wrong.exit_code == 2);
}

// nginx's mail proxy (nginx-light + libnginx-mod-mail) as real SMTP, IMAP and POP3 servers
// with STARTTLS, on free loopback ports; with `starttls off` they do not offer it. The
// proxy's auth_http is never reached: the probe stops before any login.
struct NginxMail {
  std::map<std::string, int> ports{{"smtp", free_port()}, {"imap", free_port()}, {"pop3", free_port()}};
  std::unique_ptr<Process> process;
  NginxMail(const Served& s, const std::string& name, bool starttls) {
    const fs::path module = "/usr/lib/nginx/modules/ngx_mail_module.so";
    INFO("nginx-light and libnginx-mod-mail are installed by scripts/setup.sh");
    REQUIRE(fs::exists(module));
    const fs::path dir = s.tmp / name;
    fs::create_directories(dir);
    std::string servers;
    for (const auto& [protocol, port] : ports)
      servers += "  server { listen 127.0.0.1:" + std::to_string(port) + "; protocol " + protocol + "; }\n";
    write_file(dir / "nginx.conf", "load_module " + module.string() + ";\nworker_processes 1;\ndaemon off;\npid " +
                                       (dir / "nginx.pid").string() + ";\nerror_log " + (dir / "error.log").string() +
                                       ";\nevents { worker_connections 64; }\nmail {\n  server_name mqtt.lab.local;\n"
                                       "  auth_http 127.0.0.1:1/auth;\n  ssl_certificate " + s.chain.string() +
                                       ";\n  ssl_certificate_key " + s.d.leaf.key.string() + ";\n  starttls " +
                                       (starttls ? "on" : "off") + ";\n" + servers + "}\n");
    process = std::make_unique<Process>(std::vector<std::string>{"nginx", "-p", dir.string(), "-c",
                                                                 (dir / "nginx.conf").string(), "-e",
                                                                 (dir / "error.log").string()},
                                        dir / "nginx.log");
    for (const auto& [protocol, port] : ports) {
      INFO(read_file(dir / "error.log"));
      REQUIRE(wait_for_port(port, seconds(10)));
    }
  }
};

TEST_CASE("StartTlsDialogue reaches the handshake of nginx's real SMTP, IMAP and POP3", "[integration][probe][starttls]") {
  Served s;
  NginxMail on(s, "mail-on", true), off(s, "mail-off", false);
  const std::map<std::string, std::string> not_offered{
      {"smtp", "server does not offer STARTTLS (not in its EHLO reply)"},
      {"imap", "server does not offer STARTTLS (not in its CAPABILITY list)"},
      {"pop3", "server does not offer STARTTLS (no STLS in its CAPA list)"}};
  for (const auto& [protocol, port] : on.ports) {
    INFO(protocol);
    const Driven ok = drive(port, protocol);
    CHECK(ok.failure.value_or("") == "");
    CHECK(ok.served_certificates == 3);
    CHECK(drive(off.ports.at(protocol), protocol).failure.value_or("") == not_offered.at(protocol));
  }
}

TEST_CASE("probe speaks STARTTLS to nginx's real SMTP, IMAP and POP3", "[integration][probe][starttls]") {
  Served s;
  NginxMail on(s, "mail-on", true), off(s, "mail-off", false);
  for (const auto& [protocol, port] : on.ports) {
    INFO(protocol);
    const RunResult r = probe(port, protocol, s.d.bundle);
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("\"trusted\":true") != std::string::npos);
    const RunResult no = probe(off.ports.at(protocol), protocol, s.d.bundle);
    INFO(no.out);
    CHECK(has_id(no, "endpoint.protocol_failed"));
    CHECK(no.out.find("server does not offer STARTTLS") != std::string::npos);
    CHECK(no.exit_code == 2);
  }
}
