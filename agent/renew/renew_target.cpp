#include "agent/renew/renew_target.h"

#include <grp.h>
#include <pwd.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "agent/renew/acme_issuer.h"
#include "base/duration.h"
#include "config/judge_context.h"
#include "pki/load/load.h"
#include "pki/x509/key.h"
#include "pki/x509/keygen.h"

namespace certwatch::agent {
namespace fs = std::filesystem;
namespace {

bool is_number(const std::string& s) {
  return !s.empty() && s.size() <= 9 && s.find_first_not_of("0123456789") == std::string::npos;
}

// A user or group given by name or number; nullopt when it does not exist.
std::optional<uid_t> user_id(const std::string& s) {
  if (is_number(s)) return static_cast<uid_t>(std::stoul(s));
  const passwd* pw = ::getpwnam(s.c_str());
  return pw != nullptr ? std::optional<uid_t>(pw->pw_uid) : std::nullopt;
}
std::optional<gid_t> group_id(const std::string& s) {
  if (is_number(s)) return static_cast<gid_t>(std::stoul(s));
  const group* gr = ::getgrnam(s.c_str());
  return gr != nullptr ? std::optional<gid_t>(gr->gr_gid) : std::nullopt;
}

std::set<std::string> san_set(const std::vector<pki::SubjectAltName>& sans) {
  std::set<std::string> out;
  for (const auto& s : sans) out.insert(pki::to_string(s));
  return out;
}

// Key, SANs and key type of a leaf against the entry; ok when they agree.
certwatch::Result<void> leaf_matches(const config::ManagedEntry& e, const pki::Certificate& leaf,
                                     const std::string& key_pem) {
  auto key = pki::private_key_from_pem(key_pem, std::nullopt);
  if (!key)
    return certwatch::make_error("the key cannot be read: " + key.error().message,
                                 key.error().kind);
  if (!pki::key_matches(key->get(), leaf.public_key_object()))
    return certwatch::make_error("the key does not match the certificate",
                                 certwatch::ErrorKind::crypto);
  if (san_set(leaf.sans()) != san_set(e.sans))
    return certwatch::make_error("its SANs differ from the configured ones");
  auto type = pki::key_type_of(leaf.public_key_object());
  if (!type || *type != e.key_type)
    return certwatch::make_error("its key type is not the configured " +
                                 std::string(pki::to_string(e.key_type)));
  return {};
}

// An error of the same kind with words before its message.
certwatch::Error prefixed(std::string words, const certwatch::Error& e) {
  return certwatch::make_error(std::move(words) + e.message, e.kind);
}

}  // namespace

fs::path renew_state_dir(const config::Config& cfg, const std::string& name) {
  return cfg.agent.state_dir / "renew" / name;
}

std::vector<std::shared_ptr<RenewTarget>> make_renew_targets(boost::asio::io_context& io,
                                                             const config::Config& cfg) {
  std::map<std::string, std::shared_ptr<CertIssuer>> issuers;
  for (const auto& i : cfg.issuers)
    issuers[i.name] =
        i.acme ? make_acme_issuer(io, i, acme_state_dir(cfg, i.name))
               : make_builtin_issuer(io, i, cfg.agent.state_dir / "renew" / ".issued" / i.name);
  pki::TrustStore trust;
  const auto plain = make_plain_probe_context();
  std::vector<std::shared_ptr<RenewTarget>> out;
  for (const auto& e : cfg.managed) {
    auto t = std::make_shared<RenewTarget>();
    t->entry = e;
    t->issued_clock_skew = cfg.agent.issued_clock_skew;
    t->issuer = issuers[e.issuer];
    t->store = std::make_unique<pki::CertSetStore>(renew_state_dir(cfg, e.name),
                                                   pki::CertSetFiles{e.key, e.cert, e.chain});
    t->ownership.key_mode = static_cast<mode_t>(e.mode);
    if (e.owner) {
      if (auto u = user_id(*e.owner))
        t->ownership.uid = *u;
      else
        t->setup = certwatch::make_error("owner '" + *e.owner + "' does not exist",
                                         certwatch::ErrorKind::not_found);
    }
    if (e.group) {
      if (auto g = group_id(*e.group))
        t->ownership.gid = *g;
      else
        t->setup = certwatch::make_error("group '" + *e.group + "' does not exist",
                                         certwatch::ErrorKind::not_found);
    }
    if (e.verify_endpoint) {
      // The endpoints: entry for the same server, if there is one, lends its SNI and client
      // identity (a broker with require_certificate needs one).
      config::EndpointEntry probe_entry;
      probe_entry.target = *e.verify_endpoint;
      probe_entry.timeout = std::chrono::seconds(5);
      if (!probe::is_ip_literal(e.verify_endpoint->host)) probe_entry.sni = e.verify_endpoint->host;
      for (const auto& ep : cfg.endpoints)
        if (ep.target == *e.verify_endpoint) {
          probe_entry = ep;
          probe_entry.protocol = config::Protocol::tls;  // the leaf is all we need
        }
      t->verify = make_endpoint_context(cfg, probe_entry, trust, plain);
    }
    out.push_back(std::move(t));
  }
  return out;
}

certwatch::Result<void> check_live_set(
    const RenewTarget& t, const certwatch::Result<std::optional<pki::CertSetBytes>>& live) {
  if (!live) return live.error();
  if (!*live)
    return certwatch::make_error("no certificate deployed yet", certwatch::ErrorKind::not_found);
  auto leaf = pki::Certificate::from_pem((*live)->cert);
  if (!leaf) return prefixed("the deployed certificate cannot be read: ", leaf.error());
  if (auto r = leaf_matches(t.entry, *leaf, (*live)->key); !r)
    return prefixed("the deployed certificate: ", r.error());
  return {};
}

certwatch::Result<pki::Certificate> judge_issued(const RenewTarget& t, const IssuedSet& set,
                                                 int64_t now) {
  auto loaded = pki::load_bytes(set.files.chain, "issued chain");
  if (!loaded || loaded->certs.empty())
    return certwatch::make_error("the issuer returned no chain");
  const auto& leaf = loaded->certs.front();
  auto cert = pki::Certificate::from_pem(set.files.cert);
  if (!cert || !cert->same_as(leaf))
    return certwatch::make_error("the issued certificate is not the chain's leaf");
  if (auto r = leaf_matches(t.entry, leaf, set.files.key); !r)
    return prefixed("issued set: ", r.error());
  auto key = pki::key_from_bytes(set.files.key, "issued key", 0600);
  if (!key) return certwatch::make_error("issued key: " + key.error().message);
  // A CA that does not back-date (pebble), or whose clock runs ahead of ours, hands out a set
  // whose notBefore is a moment in the future: within the tolerance it is judged at that
  // notBefore, so that every other check still applies, and deployed.
  int64_t ahead = 0;
  for (const auto& c : loaded->certs) ahead = std::max(ahead, c.validity().not_before - now);
  const int64_t tolerance = t.issued_clock_skew.count();
  const bool tolerated = ahead > 0 && ahead <= tolerance;
  const auto report = pki::judge_chain(
      t.entry.name, loaded->certs, *key,
      config::issued_judge_context(t.entry, set.anchors).at(tolerated ? now + ahead : now));
  for (const auto& f : report.findings)
    if (f.severity == pki::Severity::critical || f.id.rfind("chain.", 0) == 0 ||
        f.id == pki::fid::cert_outlives_issuer) {
      std::string why = f.message;
      if (f.id == pki::fid::cert_not_yet_valid && ahead > tolerance)
        why = "notBefore is " + certwatch::format_duration(ahead) +
              " ahead of this host's clock, beyond the " + certwatch::format_duration(tolerance) +
              " tolerance (agent.issued_clock_skew)";
      return certwatch::make_error("issued set refused by the check: " + f.id + ": " + why);
    }
  if (tolerated)
    spdlog::info(
        "renew {}: notBefore is {} s ahead of this host's clock; accepted within the {} "
        "tolerance",
        t.entry.name, ahead, certwatch::format_duration(tolerance));
  return leaf;
}

certwatch::Result<int> reinstate_live(const RenewTarget& t, int64_t now) {
  auto live = t.store->read_live();
  if (!live) return live.error();
  if (!*live) return 0;
  return t.issuer->reinstate((*live)->cert, now);
}

void log_reinstated(const std::string& name, const certwatch::Result<int>& n) {
  if (!n)
    spdlog::warn("renew {}: cannot reinstate the live certificate in the issuer's records: {}",
                 name, n.error().message);
  else if (*n > 0)
    spdlog::warn(
        "renew {}: the live certificate is current again in the issuer's records ({} "
        "issuance(s) that never went live withdrawn)",
        name, *n);
}

}  // namespace certwatch::agent
