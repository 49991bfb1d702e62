// The ACME backend of CertIssuer (issue #14): a new key for the managed certificate, a CSR for
// its SANs, one RFC 8555 order through agent/acme's client with the configured challenge
// solver, and the chain as served (leaf first) judged against `chain_trust` before anything
// live is touched. The account key lives in <state_dir>/acme/<issuer>/account.key (0600,
// created on first use, reused after: the account is found by it); issued certificates are
// recorded in <state_dir>/acme/<issuer>/ledger.sqlite with the directory URL as their CA, so
// the ledger source shows them like the built-in issuer's.
// Thread-safety: io_context thread only.
#pragma once

#include <openssl/evp.h>

#include <filesystem>
#include <memory>
#include <vector>

#include "agent/acme/challenge_solver.h"
#include "agent/renew/cert_issuer.h"
#include "config/config.h"
#include "pki/x509/keygen.h"
#include "pki/x509/ossl_ptr.h"

namespace certwatch::agent {

// <state_dir>/acme/<issuer name>: the account key and the ledger of one ACME issuer.
std::filesystem::path acme_state_dir(const config::Config& cfg, const std::string& issuer_name);

// The account key at `path`, or a new one of `type` written there (0600, directory 0700) when
// there is none yet. A key that exists but cannot be read is an error, never replaced: it is
// the account's identity.
certwatch::Result<pki::UniquePtr<EVP_PKEY>> load_or_create_account_key(
    const std::filesystem::path& path, pki::KeyType type);

// The set to deploy from a downloaded chain (leaf first) and the certificate's new key; an
// error when the chain holds no certificate or the key is not the leaf's. A self-signed root
// at the end of the chain is left out (with a warning).
certwatch::Result<IssuedSet> assemble_issued(const std::string& chain_pem, const EVP_PKEY* key,
                                             std::vector<pki::Certificate> anchors);

// The solver the challenge settings name (http-01 listener or webroot, dns-01 hooks).
std::unique_ptr<acme::ChallengeSolver> make_challenge_solver(
    boost::asio::io_context& io, const config::AcmeChallenge& challenge);

// `entry.acme` must be set; `dir` is acme_state_dir() of the entry.
std::unique_ptr<CertIssuer> make_acme_issuer(boost::asio::io_context& io,
                                             const config::IssuerEntry& entry,
                                             std::filesystem::path dir);

}  // namespace certwatch::agent
