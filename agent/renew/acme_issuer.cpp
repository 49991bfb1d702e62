#include "agent/renew/acme_issuer.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <map>

#include "agent/acme/acme_client.h"
#include "agent/acme/dns_hook_solver.h"
#include "agent/acme/http01_listener.h"
#include "agent/acme/webroot_solver.h"
#include "config/judge_context.h"
#include "pki/acme/csr_builder.h"
#include "pki/acme/jws.h"
#include "pki/deploy/atomic_file.h"
#include "pki/issue/ledger.h"
#include "pki/load/load.h"
#include "pki/load/read_file.h"

namespace certwatch::agent {
namespace fs = std::filesystem;
namespace {

// The EAB MAC key: the file holds it base64url-encoded, as CAs hand it out. Neither the file's
// text nor the key ever goes into a message.
certwatch::Result<acme::ExternalAccountBinding> read_eab(const config::AcmeEab& eab) {
  auto text = pki::read_limited(eab.hmac_key_file, pki::kMaxSecretBytes);
  if (!text)
    return certwatch::make_error(
        "EAB key " + eab.hmac_key_file.string() + ": " + text.error().message,
        certwatch::ErrorKind::io);
  pki::Passphrase scrub(std::move(*text));
  std::string_view v = scrub.value();
  while (!v.empty() && (v.back() == '\n' || v.back() == '\r' || v.back() == ' '))
    v.remove_suffix(1);
  auto key = pki::base64url_decode(v);
  if (!key || key->empty())
    return certwatch::make_error("EAB key " + eab.hmac_key_file.string() + " is not base64url",
                                 certwatch::ErrorKind::invalid_input);
  return acme::ExternalAccountBinding{eab.key_id, std::move(*key)};
}

// DNS:x and IP:y SANs as ACME identifiers.
std::vector<std::string> identifiers_of(const std::vector<std::string>& sans) {
  std::vector<std::string> out;
  for (const auto& s : sans) out.push_back(s.substr(s.find(':') + 1));
  return out;
}

// Recorded like the built-in issuer's rows (pki/issue/issuer.cpp), with the directory as the CA: a
// re-issue under the same name supersedes the earlier row.
certwatch::Result<void> record(const fs::path& dir, const std::string& directory,
                               const IssueOrder& order, const pki::Certificate& leaf) {
  auto ledger = pki::Ledger::open(dir / "ledger.sqlite");
  if (!ledger) return ledger.error();
  pki::LedgerEntry e;
  e.serial = leaf.serial_hex();
  e.ca = directory;
  e.name = order.name;
  e.subject = leaf.subject();
  for (const auto& s : leaf.sans()) e.sans.push_back(pki::to_string(s));
  e.not_before = leaf.validity().not_before;
  e.not_after = leaf.validity().not_after;
  e.sha256 = leaf.sha256_hex();
  e.key_type = std::string(pki::to_string(order.key_type));
  e.profile = std::string(pki::to_string(order.profile));
  e.issued_at = order.now;
  return ledger->in_transaction([&]() -> certwatch::Result<void> {
    if (auto r = ledger->insert(e); !r) return r;
    if (auto n = ledger->supersede(e.ca, e.name, e.serial); !n) return n.error();
    return {};
  });
}

class AcmeIssuer final : public CertIssuer {
 public:
  AcmeIssuer(boost::asio::io_context& io, config::IssuerEntry entry, fs::path dir)
      : io_(io),
        entry_(std::move(entry)),
        acme_(*entry_.acme),
        dir_(std::move(dir)),
        solver_(make_challenge_solver(io, acme_.challenge)),
        alive_(std::make_shared<bool>(true)) {}
  ~AcmeIssuer() override { *alive_ = false; }

  std::string describe() const override { return "ACME " + acme_.directory; }

  void issue(const IssueOrder& order, IssueDone done) override {
    auto started = start(order, done);
    if (!started)
      boost::asio::post(io_, [done = std::move(done), e = started.error()]() mutable { done(e); });
  }

 private:
  // A client with the account key and the issuer's settings; no network yet.
  certwatch::Result<std::unique_ptr<acme::Client>> make_client() {
    auto account = load_or_create_account_key(dir_ / "account.key", acme_.account_key_type);
    if (!account)
      return certwatch::make_error(entry_.name + ": account key: " + account.error().message,
                                   account.error().kind);
    acme::ClientSettings settings;
    settings.directory_url = acme_.directory;
    settings.server_trust = acme_.trust;
    settings.contact = acme_.contact;
    settings.request_timeout = acme_.request_timeout;
    settings.order_timeout = acme_.order_timeout;
    if (acme_.eab) {
      auto eab = read_eab(*acme_.eab);
      if (!eab)
        return certwatch::make_error(entry_.name + ": " + eab.error().message, eab.error().kind);
      settings.eab = std::move(*eab);
    }
    return acme::Client::make(io_, std::move(settings), std::move(*account));
  }

  // Keeps `client` until its callback has run, and drops it after (never inside it: the client
  // may still be unwinding).
  std::pair<int, acme::Client*> hold(std::unique_ptr<acme::Client> client) {
    const int id = ++next_id_;
    auto& slot = clients_[id];
    slot = std::move(client);
    return {id, slot.get()};
  }
  void release(int id) {
    boost::asio::post(io_, [this, alive = alive_, id] {
      if (*alive) clients_.erase(id);
    });
  }

  // Everything before the network: keys, CSR, client. An error here is posted to `done`.
  certwatch::Result<void> start(const IssueOrder& order, IssueDone& done) {
    auto made = make_client();
    if (!made) return made.error();
    auto key = pki::generate_key(order.key_type);
    if (!key) return key.error();
    acme::OrderRequest request;
    request.identifiers = identifiers_of(order.sans);
    auto csr = pki::build_csr_der(key->get(), request.identifiers);
    if (!csr)
      return certwatch::make_error(entry_.name + ": CSR: " + csr.error().message, csr.error().kind);
    request.csr_der = std::move(*csr);
    // One client per order: orders of several managed entries may overlap, and the account is
    // found again by its key (one request) each time.
    auto [id, client] = hold(std::move(*made));
    auto shared_key = std::make_shared<pki::UniquePtr<EVP_PKEY>>(std::move(*key));
    spdlog::info("renew {}: ACME order at {} for {} ({})", order.name, acme_.directory,
                 pki::join_sans(order.sans), solver_->describe());
    client->order(
        request, *solver_,
        [this, alive = alive_, id, order, shared_key,
         done = std::move(done)](certwatch::Result<acme::OrderResult> r) mutable {
          if (!*alive)
            return done(certwatch::make_error("the ACME issuer was replaced during the order"));
          release(id);
          done(finish(order, shared_key->get(), std::move(r)));
        });
    return {};
  }

 public:
  void suggested_window(const std::string& leaf_der, WindowDone done) override {
    auto made = make_client();
    if (!made) {
      spdlog::warn("issuer {}: no renewal information (ARI): {}", entry_.name,
                   made.error().message);
      boost::asio::post(io_, [done = std::move(done)] {
        done(WindowAnswer{.window = std::nullopt, .ask_again = true});
      });
      return;
    }
    auto [id, client] = hold(std::move(*made));
    client->renewal_info(leaf_der, [this, alive = alive_, id, done = std::move(done)](
                                       certwatch::Result<acme::RenewalInfo> r) {
      if (!*alive) return done(WindowAnswer{});
      release(id);
      if (!r) {
        // Most CAs without ARI: said once per issuer, at info.
        if (!said_no_ari_)
          spdlog::info("issuer {}: no renewal information (ARI), the managed schedule applies: {}",
                       entry_.name, r.error().message);
        said_no_ari_ = true;
        return done(WindowAnswer{.window = std::nullopt,
                                 .ask_again = r.error().kind != certwatch::ErrorKind::not_found});
      }
      said_no_ari_ = false;
      SuggestedWindow w;
      w.start = r->window_start;
      w.end = r->window_end;
      w.retry_after = r->retry_after;
      w.explanation_url = r->explanation_url.value_or("");
      done(WindowAnswer{.window = w, .ask_again = true});
    });
  }

 private:
  certwatch::Result<IssuedSet> finish(const IssueOrder& order, const EVP_PKEY* key,
                                      certwatch::Result<acme::OrderResult> r) {
    if (!r)
      return certwatch::make_error(entry_.name + " (" + acme_.directory + "): " + r.error().message,
                                   r.error().kind);
    const auto trust = trust_.get(config::issuer_chain_trust(entry_));
    for (const auto& e : trust->errors) spdlog::warn("issuer {}: chain_trust {}", entry_.name, e);
    auto set = assemble_issued(r->chain_pem, key, trust->certs);
    if (!set)
      return certwatch::make_error(entry_.name + ": " + set.error().message, set.error().kind);
    auto leaf = pki::Certificate::from_pem(set->files.cert);
    if (leaf) {
      if (auto rec = record(dir_, acme_.directory, order, *leaf); !rec)
        set->warnings.push_back("ledger " + (dir_ / "ledger.sqlite").string() + ": " +
                                rec.error().message);
    }
    return set;
  }

  boost::asio::io_context& io_;
  config::IssuerEntry entry_;
  const config::AcmeIssuer& acme_;
  pki::TrustStore trust_;  // chain_trust, else trust, else the system bundle (issuer_chain_trust)
  fs::path dir_;
  std::unique_ptr<acme::ChallengeSolver> solver_;
  std::map<int, std::unique_ptr<acme::Client>> clients_;
  int next_id_ = 0;
  bool said_no_ari_ = false;
  std::shared_ptr<bool> alive_;
};

}  // namespace

fs::path acme_state_dir(const config::Config& cfg, const std::string& issuer_name) {
  return cfg.agent.state_dir / "acme" / issuer_name;
}

certwatch::Result<pki::UniquePtr<EVP_PKEY>> load_or_create_account_key(const fs::path& path,
                                                                       pki::KeyType type) {
  std::error_code ec;
  if (fs::exists(path, ec)) {
    auto pem = pki::read_limited(path, pki::kMaxSecretBytes);
    if (!pem)
      return certwatch::make_error(path.string() + ": " + pem.error().message,
                                   certwatch::ErrorKind::io);
    pki::Passphrase scrub(std::move(*pem));
    auto key = pki::private_key_from_pem(scrub.value(), std::nullopt);
    if (!key)
      return certwatch::make_error(path.string() + ": " + key.error().message, key.error().kind);
    return key;
  }
  if (auto r = pki::make_directories(path.parent_path(), 0700); !r) return r.error();
  auto key = pki::generate_key(type);
  if (!key) return key.error();
  auto pem = pki::private_key_to_pem(key->get());
  if (!pem) return pem.error();
  pki::Passphrase scrub(std::move(*pem));
  // replace=false: two processes creating it at once end with one key, the loser reports it.
  if (auto r = pki::write_file_atomic(path, scrub.value(), 0600, {.replace = false}); !r)
    return certwatch::make_error(path.string() + ": " + r.error().message, r.error().kind);
  spdlog::info("acme: new {} account key in {}", pki::to_string(type), path.string());
  return key;
}

certwatch::Result<IssuedSet> assemble_issued(const std::string& chain_pem, const EVP_PKEY* key,
                                             std::vector<pki::Certificate> anchors) {
  auto all = pki::load_bytes(chain_pem, "issued chain");
  if (!all)
    return certwatch::make_error("the ACME server sent no certificate: " + all.error().message);
  if (all->certs.empty()) return certwatch::make_error("the ACME server sent no certificate");
  const pki::Certificate& leaf = all->certs.front();
  if (!pki::key_matches(key, leaf.public_key_object()))
    return certwatch::make_error("the ACME server's certificate is not for the key of the CSR");
  auto key_pem = pki::private_key_to_pem(key);
  if (!key_pem) return key_pem.error();
  IssuedSet set;
  set.files.key = std::move(*key_pem);
  set.files.cert = leaf.pem();
  // Some CAs end the chain with their root. A server sends it for nothing (clients must have
  // it already, chain.contains_root), and the check of the issued set would refuse it: the
  // deployed chain stops below the root, which is judged as an anchor like any other.
  const pki::Certificate& last = all->certs.back();
  if (all->certs.size() > 1 && last.self_issued() && last.signed_by(last)) {
    for (size_t i = 0; i + 1 < all->certs.size(); ++i) set.files.chain += all->certs[i].pem();
    set.warnings.push_back("the ACME server's chain ended with its root (" + last.subject() +
                           "): deployed without it");
  } else {
    set.files.chain = chain_pem;  // as served
    if (set.files.chain.back() != '\n') set.files.chain += '\n';
  }
  set.anchors = std::move(anchors);
  return set;
}

std::unique_ptr<acme::ChallengeSolver> make_challenge_solver(boost::asio::io_context& io,
                                                             const config::AcmeChallenge& c) {
  if (c.type == config::AcmeChallenge::Type::dns01) {
    acme::DnsHookSettings s;
    s.set = c.set;
    s.clear = c.clear;
    s.propagation = c.propagation;
    s.hook_timeout = c.hook_timeout;
    return std::make_unique<acme::DnsHookSolver>(io, std::move(s));
  }
  if (c.webroot) return std::make_unique<acme::WebrootSolver>(io, *c.webroot);
  return std::make_unique<acme::Http01Listener>(
      io, c.listen.value_or(config::ListenAddress{"0.0.0.0", 80}));
}

std::unique_ptr<CertIssuer> make_acme_issuer(boost::asio::io_context& io,
                                             const config::IssuerEntry& entry, fs::path dir) {
  return std::make_unique<AcmeIssuer>(io, entry, std::move(dir));
}

}  // namespace certwatch::agent
