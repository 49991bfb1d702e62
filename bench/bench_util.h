// Shared helpers for the benchmarks: in-process certificate generation with OpenSSL (fast,
// so a 100,000-certificate corpus takes seconds), child processes with resource usage, and
// RSS readings. Not part of the product; key material here is throwaway test data.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "pki/x509/ossl_ptr.h"

namespace bench {

inline void die(const std::string& what) {
  std::fprintf(stderr, "bench: %s\n", what.c_str());
  std::exit(1);
}

inline certwatch::pki::UniquePtr<EVP_PKEY> make_key(bool rsa) {
  certwatch::pki::UniquePtr<EVP_PKEY> k(rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256"));
  if (!k) die("key generation failed");
  return k;
}

// Issues a certificate for `key` named CN=`cn`, signed by (issuer, issuer_key); self-signed
// when issuer is null. CA certificates get basicConstraints CA:TRUE; leaves get a DNS SAN and
// serverAuth. Validity: now-60s .. now+days.
inline certwatch::pki::UniquePtr<X509> make_cert(const std::string& cn, EVP_PKEY* key, X509* issuer,
                                      EVP_PKEY* issuer_key, bool ca, long days = 365) {
  certwatch::pki::UniquePtr<X509> x(X509_new());
  X509_set_version(x.get(), X509_VERSION_3);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  certwatch::pki::UniquePtr<BIGNUM> bn(BN_bin2bn(serial, sizeof serial, nullptr));
  BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(x.get()));
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), days * 86400L);
  X509_set_pubkey(x.get(), key);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* signer = issuer != nullptr ? issuer : x.get();
  X509_set_issuer_name(x.get(), X509_get_subject_name(signer));
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, signer, x.get(), nullptr, nullptr, 0);
  auto add = [&](int nid, const char* value) {
    certwatch::pki::UniquePtr<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
    if (!ext || X509_add_ext(x.get(), ext.get(), -1) != 1) die("extension failed");
  };
  add(NID_subject_key_identifier, "hash");
  if (issuer != nullptr) add(NID_authority_key_identifier, "keyid");
  if (ca) {
    add(NID_basic_constraints, "critical,CA:TRUE");
    add(NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add(NID_basic_constraints, "CA:FALSE");
    add(NID_key_usage, EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA
                           ? "critical,digitalSignature,keyEncipherment"
                           : "critical,digitalSignature");
    add(NID_ext_key_usage, "serverAuth");
    add(NID_subject_alt_name, ("DNS:" + cn).c_str());
  }
  if (X509_sign(x.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) <= 0)
    die("signing failed");
  return x;
}

inline std::string to_pem(X509* x) {
  certwatch::pki::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), x);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

inline void write(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  if (!out) die("cannot write " + path);
}

inline double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct ChildUsage {
  int exit_code = -1;
  double wall = 0, user = 0, sys = 0;
  long max_rss_kib = 0;
  double cpu() const { return user + sys; }
};

// Runs argv with stdout to `out_path` (or /dev/null), returning wall time and rusage.
inline ChildUsage run_child(const std::vector<std::string>& argv,
                            const std::string& out_path = "/dev/null") {
  ChildUsage u;
  std::fflush(nullptr);  // or the child inherits and repeats our buffered output
  const double start = now_seconds();
  pid_t pid = fork();
  if (pid < 0) die("fork failed");
  if (pid == 0) {
    if (std::freopen(out_path.c_str(), "w", stdout) == nullptr) _exit(126);
    std::vector<char*> av;
    for (const auto& a : argv) av.push_back(const_cast<char*>(a.c_str()));
    av.push_back(nullptr);
    execvp(av[0], av.data());
    _exit(127);
  }
  int status = 0;
  rusage ru{};
  wait4(pid, &status, 0, &ru);
  u.wall = now_seconds() - start;
  u.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  u.user = static_cast<double>(ru.ru_utime.tv_sec) + ru.ru_utime.tv_usec / 1e6;
  u.sys = static_cast<double>(ru.ru_stime.tv_sec) + ru.ru_stime.tv_usec / 1e6;
  u.max_rss_kib = ru.ru_maxrss;
  return u;
}

// A free loopback port, and a process's CPU (user + system) and resident memory from /proc,
// for the benchmarks that run the agent.
inline int free_port() {
  // Ask the kernel through a throwaway listener on port 0 (the same trick as the tests).
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    die("no free port");
  ::close(fd);
  return ntohs(addr.sin_port);
}

inline double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto rp = s.rfind(')');
  std::istringstream rest(s.substr(rp + 2));
  std::string f;
  std::vector<std::string> fields;
  while (rest >> f) fields.push_back(f);
  // Fields after the comm: state is [0]; utime is field 14 overall -> [11], stime [12].
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  return (std::stod(fields.at(11)) + std::stod(fields.at(12))) / tick;
}

inline long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

}  // namespace bench
