// A PKI directory with a root CA, for the issuer's tests (issuer, CSR, CA store, revocation),
// and a snapshot of a directory to show that a refusal wrote nothing.
#pragma once

#include <catch2/catch.hpp>

#include <ctime>
#include <map>
#include <optional>
#include <string>

#include "pki/issue/issuer.h"
#include "support/fixtures.h"

namespace testing {

namespace fs = std::filesystem;

// Every file under `dir` (except SQLite's own files) with its content.
inline std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const auto name = e.path().filename().string();
    if (name.rfind("ledger.sqlite", 0) == 0) continue;
    out[e.path().string()] = e.is_regular_file() ? read_file(e.path()) : "<dir>";
  }
  return out;
}

struct Pki {
  TempDir tmp;
  certwatch::pki::Issuer issuer{tmp / "pki"};
  int64_t now = std::time(nullptr);

  Pki(std::optional<certwatch::pki::Passphrase> root_pass = std::nullopt) {
    certwatch::pki::InitRequest init;
    init.subject = "/C=DE/O=Lab/CN=Lab Root CA";
    init.passphrase = std::move(root_pass);
    init.now = now;
    REQUIRE(issuer.init(init).ok());
  }
  certwatch::pki::IssueRequest server(const std::string& name) const {
    certwatch::pki::IssueRequest rq;
    rq.ca = "root-ca";
    rq.name = name;
    rq.subject = "/CN=" + name + ".lab.local";
    rq.sans = {"DNS:" + name + ".lab.local"};
    rq.out_dir = tmp / "out";
    rq.now = now;
    return rq;
  }
  size_t ledger_rows() { return (*issuer.ledger())->list()->size(); }
};


}  // namespace testing
