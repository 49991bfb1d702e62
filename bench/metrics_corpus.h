// The label values of the agent's per-certificate series for a synthetic corpus (100,000
// certificates in 20,000 files, 5 per file), realistic in length. Shared by metrics_render
// (our exposition layer) and prometheus_cpp/compare (the same series in prometheus-cpp).
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

inline std::string hex(unsigned long long x, std::size_t width) {
  static const char* digits = "0123456789ABCDEF";
  std::string s(width, '0');
  for (std::size_t i = width; i-- > 0 && x != 0; x >>= 4) s[i] = digits[x & 15];
  return s;
}

struct Corpus {
  std::size_t certs;
  static constexpr std::size_t kPerFile = 5;
  std::string path(std::size_t file) const {
    return "/var/lib/certwatch/corpus/d" + std::to_string(file % 200) + "/server-" +
           std::to_string(file) + ".chain.pem";
  }
};

// The label values of certificate i (file i / 5, index i % 5), realistic in length.
struct Cert {
  Cert(const Corpus& corpus, std::size_t i) {
    const std::size_t file = i / Corpus::kPerFile;
    const std::size_t index = i % Corpus::kPerFile;
    target = corpus.path(file);
    idx = std::to_string(index);
    role = index == 0 ? "leaf" : index == Corpus::kPerFile - 1 ? "root" : "intermediate";
    cn = index == 0 ? "host-" + std::to_string(file) + ".lab.local"
                    : "Lab CA " + std::to_string(index);
    issuer = "Lab CA " + std::to_string(std::min(index + 1, Corpus::kPerFile - 1));
    serial = hex(0x5A17ull * (i + 1), 16) + hex(i, 16);
    subject = "CN=" + cn + ",O=Lab,C=DE";
    issuer_dn = "CN=" + issuer + ",O=Lab,C=DE";
    if (index == 0)
      sans = "DNS:" + cn + ",IP:10.0." + std::to_string(file % 256) + "." +
             std::to_string(file % 250 + 1);
    fp = hex(i * 2654435761ull, 16) + hex(i, 16) + hex(~i, 16) + hex(i * 7, 16);
    not_before = 1700000000.0 + static_cast<double>(i);
    has_finding = index == 0 && file % 10 == 0;
  }
  std::vector<std::string_view> labels() const {
    return {"file", target, idx, role, cn, issuer, serial};
  }
  std::vector<std::string_view> info_labels() const {
    return {"file", target,    idx,  role, cn,         issuer,           serial,
            subject, issuer_dn, sans, fp,   "EC P-256", "ecdsa-with-SHA256"};
  }
  std::string target, idx, role, cn, issuer, serial, subject, issuer_dn, sans, fp;
  double not_before = 0;
  bool has_finding = false;
};

}  // namespace bench
