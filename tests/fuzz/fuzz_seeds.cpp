// Writes the seed corpora of scripts/fuzz.sh: the hostile cases of issue 15 for each target
// (same-name CA files, deep YAML, NUL bytes, duplicate watch paths, CONNECT and OPTIONS *,
// oversized headers). Usage: fuzz_seeds DIR (creates DIR/load, DIR/chain, DIR/config,
// DIR/http).
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "support/hostile_certs.h"

namespace fs = std::filesystem;

namespace {

void put(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_seeds DIR\n";
    return 2;
  }
  const fs::path dir = argv[1];
  // load_fuzz: same-name CAs within its -max_len (16 KiB: ~25 certificates).
  put(dir / "load/same-name-chain.pem", testing::same_name_ca_pem(25, true));
  put(dir / "load/same-name-same-key.pem", testing::same_name_ca_pem(25, false));
  // chain_fuzz: pool indexes; long runs of same-name certificates, one key and many keys.
  std::string seq(1, '\0');
  for (int i = 0; i < 1200; ++i) seq += static_cast<char>(i % 24);
  put(dir / "chain/1200-distinct-keys", seq);
  std::string same(1, '\x18');
  for (int i = 0; i < 1200; ++i) same += static_cast<char>(24 + i % 8);
  put(dir / "chain/1200-same-key", same);
  put(dir / "chain/short", std::string("\x05\x00\x01\x02\x03\x04\x05", 7));
  // config_fuzz.
  put(dir / "config/minimal.yaml", "watch:\n  - path: /etc/mosquitto/certs\n    recursive: true\n");
  put(dir / "config/deep.yaml", "watch: " + std::string(2100, '[') + std::string(2100, ']') + "\n");
  put(dir / "config/nul.yaml", std::string("watch:\n  - path: /a\0b\n", 22));
  std::string dup = "watch:\n";
  for (int i = 0; i < 2000; ++i) dup += "  - path: /srv/d" + std::to_string(i % 1500) + "\n";
  put(dir / "config/duplicates.yaml", dup);
  put(dir / "config/aliases.yaml",
      "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nwatch: [{path: /x}]\n");
  put(dir / "config/http.yaml",
      "http: {listen: \"127.0.0.1:9793\", max_connections: 64, max_connections_per_client: 16,\n"
      "       request_timeout: 10s, max_header_bytes: 8192}\nwatch: [{path: /x}]\n");
  // http_fuzz.
  put(dir / "http/get", "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n");
  put(dir / "http/keepalive", "GET / HTTP/1.1\r\nHost: x\r\n\r\nHEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  put(dir / "http/connect", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
  put(dir / "http/options", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
  put(dir / "http/big-header", "GET / HTTP/1.1\r\nX: " + std::string(9000, 'a') + "\r\n\r\n");
  put(dir / "http/partial", "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ");
  return 0;
}
