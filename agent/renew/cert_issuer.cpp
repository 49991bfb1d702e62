#include "agent/renew/cert_issuer.h"

#include <boost/asio/post.hpp>
#include <cstdlib>

#include "pki/deploy/atomic_file.h"
#include "pki/issue/issuer.h"
#include "pki/load/load.h"
#include "pki/load/passphrase_file.h"
#include "pki/load/read_file.h"
#include "pki/x509/keygen.h"

namespace certwatch::agent {
namespace fs = std::filesystem;
namespace {

// What opens the CA's key (pki/issue/issuer.h): its passphrase, or the user PIN of the token
// that holds it (pki/load/passphrase_file.h has the rule for both), from the file the entry
// names or its systemd credential <name>.passphrase or <name>.pin. Read for each issuance, so
// a changed PIN or passphrase needs no restart.
certwatch::Result<std::optional<pki::Passphrase>> read_passphrase(
    const config::IssuerEntry& entry) {
  std::optional<fs::path> path = entry.passphrase_file ? entry.passphrase_file : entry.pin_file;
  const char* what = entry.pin_file ? "PIN" : "passphrase";
  if (!path) {
    const char* creds = std::getenv("CREDENTIALS_DIRECTORY");
    std::error_code ec;
    static constexpr std::pair<const char*, const char*> kCredentials[] = {
        {".passphrase", "passphrase"}, {".pin", "PIN"}};
    for (const auto& [suffix, kind] : kCredentials) {
      const fs::path p = fs::path(creds != nullptr ? creds : "") / (entry.name + suffix);
      if (creds != nullptr && fs::exists(p, ec)) {
        path = p;
        what = kind;
        break;
      }
    }
    if (!path) return std::optional<pki::Passphrase>();
  }
  auto pass = pki::read_passphrase_file(*path);
  if (!pass && pass.error().kind == certwatch::ErrorKind::invalid_input)
    return certwatch::make_error(std::string(what) + " " + path->string() + " is empty",
                                 certwatch::ErrorKind::invalid_input);
  if (!pass)
    return certwatch::make_error(
        std::string(what) + " " + path->string() + ": " + pass.error().message,
        certwatch::ErrorKind::io);
  return std::optional<pki::Passphrase>(std::move(*pass));
}

certwatch::Result<std::string> read_output(const fs::path& p) {
  auto bytes = pki::read_limited(p);
  if (!bytes)
    return certwatch::make_error("issued " + p.string() + ": " + bytes.error().message,
                                 certwatch::ErrorKind::io);
  return bytes;
}

class BuiltinIssuer final : public CertIssuer {
 public:
  BuiltinIssuer(boost::asio::io_context& io, config::IssuerEntry entry, fs::path staging)
      : io_(io), entry_(std::move(entry)), staging_(std::move(staging)) {}

  void issue(const IssueOrder& order, IssueDone done) override {
    auto result = issue_now(order);
    boost::asio::post(
        io_, [done = std::move(done), r = std::move(result)]() mutable { done(std::move(r)); });
  }

  certwatch::Result<void> discard(const std::string& leaf_pem, int64_t now) override {
    auto leaf = pki::Certificate::from_pem(leaf_pem);
    if (!leaf) return leaf.error();
    pki::Issuer issuer(entry_.pki_dir);
    auto n = issuer.withdraw(entry_.ca, leaf->serial_hex(), now);
    if (!n) return n.error();
    return {};
  }

  certwatch::Result<int> reinstate(const std::string& leaf_pem, int64_t now) override {
    auto leaf = pki::Certificate::from_pem(leaf_pem);
    if (!leaf) return leaf.error();
    pki::Issuer issuer(entry_.pki_dir);
    return issuer.reinstate(entry_.ca, leaf->serial_hex(), now);
  }

  std::string describe() const override {
    return "builtin CA '" + entry_.ca + "' in " + entry_.pki_dir.string();
  }

  // The built-in CA has no opinion on when to renew: the managed entry's schedule applies.
  void suggested_window(const std::string&, WindowDone done) override {
    boost::asio::post(io_, [done = std::move(done)] { done(WindowAnswer{}); });
  }

 private:
  certwatch::Result<IssuedSet> issue_now(const IssueOrder& order) {
    auto pass = read_passphrase(entry_);
    if (!pass) return pass.error();
    if (auto r = pki::make_directories(staging_, 0700); !r) return r.error();
    // A fresh pki::Issuer per issuance: it caches the CA key, and a renewed CA or a changed
    // passphrase must be seen; issuance is rare and takes milliseconds.
    pki::Issuer issuer(entry_.pki_dir);
    pki::IssueRequest rq;
    rq.ca = entry_.ca;
    rq.profile = order.profile;
    rq.name = order.name;
    rq.subject = order.subject;
    rq.sans = order.sans;
    rq.key_type = order.key_type;
    rq.validity_seconds = order.validity_seconds;
    rq.beyond_issuer = pki::BeyondIssuer::clamp;  // a leaf never outlives its issuer
    rq.out_dir = staging_;
    rq.ca_passphrase = std::move(*pass);
    rq.force = true;  // the staging copies of the previous issuance; the ledger marks it superseded
    rq.now = order.now;
    auto issued = issuer.issue(rq);
    if (!issued)
      return certwatch::make_error(entry_.name + ": " + issued.error().message,
                                   issued.error().kind);
    IssuedSet out;
    out.warnings = issued->warnings;
    const auto stem = staging_ / order.name;
    auto key = read_output(fs::path(stem.string() + ".key.pem"));
    auto cert = read_output(fs::path(stem.string() + ".cert.pem"));
    auto chain = read_output(fs::path(stem.string() + ".chain.pem"));
    // The key's staging copy goes at once: the set lives on in memory and in the deploy.
    std::error_code ec;
    fs::remove(fs::path(stem.string() + ".key.pem"), ec);
    if (!key) return key.error();
    if (!cert) return cert.error();
    if (!chain) return chain.error();
    out.files = {std::move(*key), std::move(*cert), std::move(*chain)};
    auto root = issuer.ca_certificate(pki::kRootCaName);
    if (!root)
      return certwatch::make_error(entry_.name + ": root CA: " + root.error().message,
                                   root.error().kind);
    out.anchors.push_back(std::move(*root));
    return out;
  }

  boost::asio::io_context& io_;
  config::IssuerEntry entry_;
  fs::path staging_;
};

}  // namespace

std::unique_ptr<CertIssuer> make_builtin_issuer(boost::asio::io_context& io,
                                                const config::IssuerEntry& entry,
                                                fs::path staging_dir) {
  return std::make_unique<BuiltinIssuer>(io, entry, std::move(staging_dir));
}

}  // namespace certwatch::agent
