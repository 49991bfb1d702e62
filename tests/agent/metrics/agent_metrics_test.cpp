#include "agent/metrics/agent_metrics.h"

#include <catch2/catch.hpp>
#include <string>

#include "exporters/gzip.h"

using certwatch::agent::AgentMetrics;
using certwatch::agent::Inventory;
using certwatch::agent::InventoryEntry;

namespace {

certwatch::pki::CertRecord cert(int index, std::string cn, int64_t not_after) {
  certwatch::pki::CertRecord c;
  c.index = index;
  c.role = index == 0 ? certwatch::pki::CertRole::leaf : certwatch::pki::CertRole::intermediate;
  c.subject = "CN=" + cn;
  c.subject_cn = cn;
  c.issuer = "CN=Root";
  c.issuer_cn = "Root";
  c.serial = "0A" + std::to_string(index);
  c.sha256 = std::string(64, 'a');
  c.not_before = 1000;
  c.not_after = not_after;
  c.sans = {"DNS:" + cn, "IP:127.0.0.1"};
  return c;
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

// What the daemon hands to the metrics: an entry prepared (interned) by the inventory.
InventoryEntry prepared(Inventory& inv, const certwatch::pki::Report& r) {
  InventoryEntry e;
  e.report = r;
  return inv.prepare(std::move(e));
}

}  // namespace

TEST_CASE("agent metrics: one series per certificate, identical certificates told apart by index",
          "[agent][metrics]") {
  AgentMetrics m;
  certwatch::pki::Report r;
  r.target = "/c/a.pem";
  r.certs = {cert(0, "a", 2000000000), cert(1, "a", 2000000000)};  // the same certificate twice
  r.findings = {certwatch::pki::Finding{"chain.duplicate", certwatch::pki::Severity::warning,
                                        "/c/a.pem#1", "dup"}};
  Inventory inv;
  const auto e = prepared(inv, r);
  m.update_target(certwatch::agent::file_target("/c/a.pem"), nullptr, &e);
  const std::string text = m.render();
  CHECK(count(text, "certwatch_cert_not_after_timestamp_seconds{") == 2);
  CHECK(count(text, "index=\"0\"") >= 3);
  CHECK(count(text, "index=\"1\"") >= 3);
  CHECK(text.find("certwatch_cert_not_after_timestamp_seconds{source=\"file\",target=\"/c/"
                  "a.pem\",index=\"0\",role=\"leaf\","
                  "subject_cn=\"a\",issuer_cn=\"Root\",serial=\"0A0\"} 2000000000") !=
        std::string::npos);
  CHECK(text.find("sans=\"DNS:a,IP:127.0.0.1\"") != std::string::npos);
  // The finding carries the certificate's source/target/index, so PromQL joins them directly.
  CHECK(text.find("certwatch_finding{source=\"file\",target=\"/c/"
                  "a.pem\",index=\"1\",id=\"chain.duplicate\","
                  "severity=\"warning\",fingerprint_sha256=\"" +
                  std::string(64, 'a') + "\"} 1") != std::string::npos);
  CHECK(text.find("/c/a.pem#") == std::string::npos);
  CHECK(text.find("certwatch_chain_valid{source=\"file\",target=\"/c/a.pem\"} 0") !=
        std::string::npos);
  CHECK(text.find("certwatch_build_info{") != std::string::npos);
}

TEST_CASE(
    "agent metrics: expiry is exported when verification fails, and nothing stays after removal",
    "[agent][metrics]") {
  AgentMetrics m;
  certwatch::pki::Report bad;
  bad.target = "/c/b.pem";
  bad.certs = {cert(0, "b", 1900000000)};
  bad.trusted = false;
  bad.verify_error = "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY";
  bad.findings = {certwatch::pki::Finding{"chain.incomplete", certwatch::pki::Severity::critical,
                                          "/c/b.pem", "missing"}};
  Inventory inv;
  const auto bad_e = prepared(inv, bad);
  m.update_target(certwatch::agent::file_target("/c/b.pem"), nullptr, &bad_e);
  std::string text = m.render();
  CHECK(
      text.find("certwatch_cert_not_after_timestamp_seconds{source=\"file\",target=\"/c/b.pem\"") !=
      std::string::npos);

  certwatch::pki::Report good = bad;
  good.trusted = true;
  good.verify_error.reset();
  good.findings.clear();
  good.certs[0].not_after = 1950000000;  // a renewed certificate: another fingerprint
  good.certs[0].sha256 = std::string(64, 'b');
  const auto good_e = prepared(inv, good);
  m.update_target(certwatch::agent::file_target("/c/b.pem"), &bad_e, &good_e);
  text = m.render();
  CHECK(text.find("1900000000") == std::string::npos);
  CHECK(text.find("1950000000") != std::string::npos);
  CHECK(text.find("chain.incomplete") == std::string::npos);
  CHECK(text.find("certwatch_chain_valid{source=\"file\",target=\"/c/b.pem\"} 1") !=
        std::string::npos);

  m.update_target(certwatch::agent::file_target("/c/b.pem"), &good_e, nullptr);
  text = m.render();
  CHECK(text.find("/c/b.pem") == std::string::npos);
}

TEST_CASE("agent metrics: the gzip scrape body is cached until something changes",
          "[agent][metrics]") {
  AgentMetrics m;
  Inventory inv;
  certwatch::pki::Report r;
  r.target = "/c/b.pem";
  r.certs = {cert(0, "b", 2000000000)};
  const auto e = prepared(inv, r);
  m.update_target(certwatch::agent::file_target("/c/b.pem"), nullptr, &e);

  const std::string* cached = &m.gzipped();
  CHECK(cached->data() == m.gzipped().data());  // unchanged: the same buffer, not recompressed
  auto unzipped = certwatch::exporters::gzip_decompress(m.gzipped(), 64u << 20);
  REQUIRE(unzipped.ok());
  CHECK(*unzipped == m.render());

  // Any change invalidates it.
  m.set_files_watched(7);
  unzipped = certwatch::exporters::gzip_decompress(m.gzipped(), 64u << 20);
  REQUIRE(unzipped.ok());
  CHECK(unzipped->find("certwatch_files_watched 7") != std::string::npos);
  m.update_target(certwatch::agent::file_target("/c/b.pem"), &e, nullptr);
  unzipped = certwatch::exporters::gzip_decompress(m.gzipped(), 64u << 20);
  REQUIRE(unzipped.ok());
  CHECK(unzipped->find("/c/b.pem") == std::string::npos);
  CHECK(*unzipped == m.render());
}

TEST_CASE("agent metrics: a key file exports its findings but no chain verdict",
          "[agent][metrics]") {
  AgentMetrics m;
  Inventory inv;
  certwatch::pki::Report r;
  r.target = "/c/server.key.pem";
  r.key =
      certwatch::pki::KeyRecord{"/c/server.key.pem", false, std::string(64, 'b'), "EC P-256", 0644};
  r.findings = {certwatch::pki::Finding{"key.permissions", certwatch::pki::Severity::warning,
                                        "/c/server.key.pem", "0644"}};
  const auto e = prepared(inv, r);
  m.update_target(certwatch::agent::file_target("/c/server.key.pem"), nullptr, &e);
  // A finding about the whole target: index is empty.
  CHECK(m.render().find("certwatch_finding{source=\"file\",target=\"/c/server.key.pem\",index=\"\","
                        "id=\"key.permissions\",severity=\"warning\",fingerprint_sha256=\"\"} 1") !=
        std::string::npos);
  CHECK(m.render().find("certwatch_chain_valid{") == std::string::npos);
  CHECK(m.render().find("certwatch_target_certificates{") == std::string::npos);
  m.update_target(certwatch::agent::file_target("/c/server.key.pem"), &e, nullptr);
  CHECK(m.render().find("/c/server.key.pem") == std::string::npos);
}

TEST_CASE("agent metrics: a finding carries the fingerprint of the certificate it names",
          "[agent][metrics]") {
  AgentMetrics m;
  Inventory inv;
  certwatch::pki::Report r;
  r.target = "/c/srv.pem";
  r.certs = {cert(0, "srv", 2000000000), cert(1, "Sub CA", 2100000000)};
  r.certs[0].sha256 = std::string(64, 'c');
  r.certs[1].sha256 = std::string(64, 'd');
  r.findings = {
      certwatch::pki::Finding{"cert.weak_key", certwatch::pki::Severity::warning, "/c/srv.pem#1",
                              "rsa 1024"},
      certwatch::pki::Finding{"leaf.no_san", certwatch::pki::Severity::warning, "/c/srv.pem#0",
                              "no SAN"},
      certwatch::pki::Finding{"chain.order", certwatch::pki::Severity::critical, "/c/srv.pem",
                              "order"},
      // An index the entry does not hold names no certificate.
      certwatch::pki::Finding{"chain.extra", certwatch::pki::Severity::warning, "/c/srv.pem#7",
                              "extra"},
      // Another target's index (a key file's finding may name a chain file) is not this one's.
      certwatch::pki::Finding{"key.mismatch", certwatch::pki::Severity::critical, "/c/other.pem#0",
                              "mismatch"}};
  const auto e = prepared(inv, r);
  m.update_target(certwatch::agent::file_target("/c/srv.pem"), nullptr, &e);
  const std::string text = m.render();
  const auto finding = [&](const std::string& target, const std::string& index,
                           const std::string& id, const std::string& severity,
                           const std::string& fp) {
    return "certwatch_finding{source=\"file\",target=\"" + target + "\",index=\"" + index +
           "\",id=\"" + id + "\",severity=\"" + severity + "\",fingerprint_sha256=\"" + fp +
           "\"} 1\n";
  };
  CHECK(count(text, finding("/c/srv.pem", "1", "cert.weak_key", "warning", std::string(64, 'd'))) ==
        1);
  CHECK(count(text, finding("/c/srv.pem", "0", "leaf.no_san", "warning", std::string(64, 'c'))) ==
        1);
  CHECK(count(text, finding("/c/srv.pem", "", "chain.order", "critical", "")) == 1);
  CHECK(count(text, finding("/c/srv.pem", "7", "chain.extra", "warning", "")) == 1);
  CHECK(count(text, finding("/c/other.pem#0", "", "key.mismatch", "critical", "")) == 1);
  CHECK(count(text, "certwatch_finding{") == 5);

  // The same findings on a renewed certificate: the old fingerprint's series go with the old
  // entry, none is left behind under the labels it was added with.
  certwatch::pki::Report renewed = r;
  renewed.certs[1].sha256 = std::string(64, 'e');
  const auto e2 = prepared(inv, renewed);
  m.update_target(certwatch::agent::file_target("/c/srv.pem"), &e, &e2);
  const std::string after = m.render();
  CHECK(after.find(std::string(64, 'd')) == std::string::npos);
  CHECK(count(after,
              finding("/c/srv.pem", "1", "cert.weak_key", "warning", std::string(64, 'e'))) == 1);
  CHECK(count(after, "certwatch_finding{") == 5);
  m.update_target(certwatch::agent::file_target("/c/srv.pem"), &e2, nullptr);
  CHECK(m.render().find("certwatch_finding{") == std::string::npos);
}
