// Helpers shared by the `certwatch pki` integration tests: run the CLI, read openssl's view of
// a certificate, and find one extension in `openssl x509 -text`.
#pragma once

#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "support/fixtures.h"

namespace pki_cli {

inline testing::RunResult certwatch(std::vector<std::string> args, const std::vector<std::string>& env = {}) {
  args.insert(args.begin(), testing::certwatch_bin().string());
  return testing::run(args, std::chrono::seconds(60), {}, env);
}

// Runs certwatch and requires success, showing its output otherwise.
inline testing::RunResult ok(std::vector<std::string> args, const std::vector<std::string>& env = {}) {
  auto r = certwatch(std::move(args), env);
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  return r;
}

inline std::string x509_text(const std::string& path) {
  auto r = testing::run({"openssl", "x509", "-in", path, "-noout", "-text"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return r.out;
}

struct Extension {
  bool present = false;
  bool critical = false;
  std::string value;  // the line after the header, trimmed
};

// One extension of `openssl x509 -text` output, by its header ("X509v3 Key Usage").
inline Extension extension(const std::string& text, const std::string& header) {
  Extension e;
  auto pos = text.find(header + ":");
  if (pos == std::string::npos) return e;
  e.present = true;
  auto eol = text.find('\n', pos);
  e.critical = text.substr(pos, eol - pos).find("critical") != std::string::npos;
  auto next = text.find('\n', eol + 1);
  std::string line = text.substr(eol + 1, next - eol - 1);
  line.erase(0, line.find_first_not_of(' '));
  e.value = line;
  return e;
}

// Number of extensions openssl lists (headers at 12 spaces of indentation).
inline int extension_count(const std::string& text) {
  int n = 0;
  for (size_t pos = 0; (pos = text.find("\n            X509v3 ", pos)) != std::string::npos; ++pos) ++n;
  return n;
}

// Every file under `dir` with its content (the ledger's own files excluded: reads touch them).
inline std::map<std::string, std::string> pki_files(const std::filesystem::path& dir) {
  std::map<std::string, std::string> out;
  if (!std::filesystem::exists(dir)) return out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.path().filename().string().rfind("ledger.sqlite", 0) == 0) continue;
    out[e.path().string()] = e.is_regular_file() ? testing::read_file(e.path()) : "<dir>";
  }
  return out;
}

inline int pem_count(const std::string& pem) {
  int n = 0;
  for (size_t pos = 0; (pos = pem.find("-----BEGIN CERTIFICATE-----", pos)) != std::string::npos; ++pos) ++n;
  return n;
}

// `certwatch check` must find nothing worse than info. `tolerated` names finding ids that may
// appear as warnings (see the seeds test: leaf.no_san on clientAuth-only leaves).
inline void check_clean(std::vector<std::string> args, const std::vector<std::string>& tolerated = {}) {
  args.insert(args.begin(), "check");
  auto r = certwatch(args);
  INFO("certwatch check: " << r.out << r.err);
  int bad = 0, tolerated_hits = 0;
  size_t pos = 0;
  while (pos < r.out.size()) {
    size_t eol = r.out.find('\n', pos);
    if (eol == std::string::npos) eol = r.out.size();
    const std::string line = r.out.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.rfind("  WARNING ", 0) != 0 && line.rfind("  CRITICAL ", 0) != 0) continue;
    bool ok_id = false;
    for (const auto& id : tolerated) ok_id |= line.find(" " + id + " ") != std::string::npos;
    (ok_id ? tolerated_hits : bad) += 1;
  }
  CHECK(bad == 0);
  CHECK(r.exit_code == (tolerated_hits > 0 ? 1 : 0));
}

// `openssl verify` with the given arguments must print OK.
inline void openssl_verify(std::vector<std::string> args) {
  args.insert(args.begin(), {"openssl", "verify"});
  auto r = testing::run(args);
  INFO("openssl verify: " << r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find(": OK") != std::string::npos);
}

}  // namespace pki_cli
