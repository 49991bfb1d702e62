#include "pki/load/load.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "pki/judge/finding.h"
#include "support/fixtures.h"
#include "support/pki_fixture.h"

using namespace testing;

TEST_CASE("load_bytes reads PEM chains and skips other blocks", "[load]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  auto s = make_seed001(f);
  const std::string chain = read_file(s.chain);
  auto r = certwatch::pki::load_bytes(chain, "chain");
  REQUIRE(r.ok());
  CHECK(r->format == "PEM");
  REQUIRE(r->certs.size() == 2);
  CHECK(r->certs[0].subject_cn() == "mqtt.my-iot-cloud.com");
  CHECK(r->certs[1].subject_cn() == "IoT Cloud (MQTT) Server CA");

  // Text before blocks (openssl x509 -text output), a CSR and a key are not certificates.
  std::string mixed =
      "Certificate:\n  Data: ...\n" + chain +
      "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n" +
      read_file(s.leaf.key);
  auto m = certwatch::pki::load_bytes(mixed, "mixed");
  REQUIRE(m.ok());
  CHECK(m->certs.size() == 2);
  CHECK(m->private_keys == 1);
  CHECK_FALSE(m->encrypted_key);
  CHECK(m->other_blocks == 1);
  REQUIRE(m->notes.size() == 1);
  CHECK(m->notes[0].find("CERTIFICATE REQUEST") != std::string::npos);
}

TEST_CASE("load_bytes reads DER and PKCS#7 bundles", "[load]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  auto s = make_seed001(f);
  auto der = certwatch::pki::load_bytes(read_file(f.to_der(s.leaf.cert, "leaf.der")), "der");
  REQUIRE(der.ok());
  CHECK(der->format == "DER");
  REQUIRE(der->certs.size() == 1);
  CHECK(der->certs[0].subject_cn() == "mqtt.my-iot-cloud.com");

  for (bool as_der : {false, true}) {
    auto p7 = certwatch::pki::load_bytes(
        read_file(f.to_p7b({s.leaf.cert, s.server_ca.cert}, "b.p7b", as_der)), "p7b");
    REQUIRE(p7.ok());
    CHECK(p7->format == (as_der ? "PKCS7-DER" : "PEM"));
    CHECK(p7->certs.size() == 2);
  }
}

TEST_CASE("load_bytes counts keys, plain and encrypted, PEM and DER", "[load]") {
  TempDir tmp;
  PkiFixture f(tmp.path());
  const auto key = f.key("k.pem");
  auto plain = certwatch::pki::load_bytes(read_file(key), "k");
  REQUIRE(plain.ok());
  CHECK(plain->private_keys == 1);
  CHECK(plain->certs.empty());
  CHECK_FALSE(plain->encrypted_key);
  for (bool traditional : {false, true}) {
    auto enc = certwatch::pki::load_bytes(
        read_file(f.encrypt_key(key, "e.pem", "secret", traditional)), "e");
    REQUIRE(enc.ok());
    CHECK(enc->encrypted_key);
  }
  must_run({"openssl", "pkey", "-in", key.string(), "-outform", "DER", "-out",
            (tmp / "k.der").string()});
  auto der = certwatch::pki::load_bytes(read_file(tmp / "k.der"), "kder");
  REQUIRE(der.ok());
  CHECK(der->private_keys == 1);
}

TEST_CASE("load_bytes refuses malformed input and accepts empty input", "[load]") {
  auto empty = certwatch::pki::load_bytes("", "e");
  REQUIRE(empty.ok());
  CHECK(empty->format == "empty");
  CHECK(empty->certs.empty());
  CHECK(certwatch::pki::load_bytes(" \n\t\n", "ws").ok());

  for (const char* bad : {
           "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n",
           "-----BEGIN CERTIFICATE-----\nMIIB\n",  // no END line
           "hello, I am a text file\n",
           "\x30\x82\x01\x00garbage",
       }) {
    INFO(bad);
    auto r = certwatch::pki::load_bytes(bad, "bad");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("bad") != std::string::npos);
  }
  const std::string huge(certwatch::pki::kMaxInputBytes + 1, 'A');
  CHECK_FALSE(certwatch::pki::load_bytes(huge, "huge").ok());
}

TEST_CASE("load_file tells unreadable from malformed and keeps key bytes only for keys", "[load]") {
  using certwatch::ErrorKind;
  using certwatch::pki::input_finding_id;
  namespace fid = certwatch::pki::fid;
  TempDir tmp;
  PkiFixture f(tmp.path());
  auto missing = certwatch::pki::load_file(tmp / "nope.pem");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.loaded.error().kind == ErrorKind::io);
  CHECK(input_finding_id(missing.loaded.error()) == fid::input_unreadable);
  CHECK(missing.loaded.error().message.starts_with((tmp / "nope.pem").string() + ": "));
  CHECK(input_finding_id(certwatch::pki::load_file(tmp.path()).loaded.error()) ==
        fid::input_unreadable);  // a directory: not a regular file
  write_file(tmp / "bad.pem", "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n");
  auto bad = certwatch::pki::load_file(tmp / "bad.pem");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.loaded.error().kind == ErrorKind::invalid_input);
  CHECK(input_finding_id(bad.loaded.error()) == fid::input_malformed);

  // Over 10 MiB: refused without reading it (a sparse file).
  {
    FILE* fp = std::fopen((tmp / "big.pem").c_str(), "w");
    REQUIRE(fp != nullptr);
    REQUIRE(::ftruncate(fileno(fp), static_cast<off_t>(certwatch::pki::kMaxInputBytes + 1)) == 0);
    std::fclose(fp);
  }
  auto big = certwatch::pki::load_file(tmp / "big.pem");
  REQUIRE_FALSE(big.ok());
  CHECK(input_finding_id(big.loaded.error()) == fid::input_malformed);
  CHECK(big.loaded.error().message.find("10 MiB") != std::string::npos);

  auto root = f.root("r", CertOptions::of("R"));
  auto cert = certwatch::pki::load_file(root.cert);
  REQUIRE(cert.ok());
  CHECK(cert.key_bytes.empty());
  auto key = certwatch::pki::load_file(root.key);
  REQUIRE(key.ok());
  CHECK_FALSE(key.key_bytes.empty());
  CHECK(key.mode == 0600);
  key.wipe();
  CHECK(key.key_bytes.empty());
}

TEST_CASE("walk_paths recurses, filters names and survives symlink loops", "[load]") {
  TempDir tmp;
  fs::create_directories(tmp / "a" / "b");
  write_file(tmp / "a" / "x.pem", "");
  write_file(tmp / "a" / "b" / "y.crt", "");
  write_file(tmp / "a" / "b" / "notes.txt", "");
  write_file(tmp / "a" / "ca.srl", "01");
  fs::create_directory_symlink(tmp / "a", tmp / "a" / "b" / "loop");
  fs::create_symlink(tmp / "a" / "gone.pem", tmp / "a" / "dangling.pem");
  write_file(tmp / "explicit.txt", "");

  std::vector<fs::path> roots{tmp / "a", tmp / "explicit.txt"};
  auto entries = certwatch::pki::walk_paths(roots);
  std::vector<std::string> names;
  for (const auto& e : entries)
    names.push_back(e.path.filename().string() + (e.error ? "!" : ""));
  CHECK(names == std::vector<std::string>{"y.crt", "dangling.pem!", "x.pem", "explicit.txt"});
  CHECK(entries.back().explicit_arg);
  CHECK_FALSE(entries.front().explicit_arg);
}
