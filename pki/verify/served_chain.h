// The TLS side of pki/: what a handshake served, as pki::Certificate in the order sent, and the
// client identity (--cert/--key) installed on an SSL_CTX. Lives here so X509 and private keys
// never leave pki/; the prober (agent/probe/) only owns sockets. No network in this file.
#pragma once

#include <filesystem>
#include <vector>

#include "base/result.h"
#include "pki/x509/certificate.h"

namespace certwatch::pki {

// The peer's chain exactly as the server sent it (SSL_get_peer_cert_chain on the client side:
// leaf first, then whatever followed, duplicates and disorder kept). Empty when nothing came.
std::vector<Certificate> served_chain(const SSL* ssl);

// Loads a client certificate file (leaf first, further certificates are sent as its chain) and
// its private key, checks that they belong together, and installs both on `ctx`. Errors say
// which file is wrong and why (not a certificate, no key, encrypted key, key does not match);
// they never contain key material.
Result<void> use_client_identity(SSL_CTX* ctx, const std::filesystem::path& cert_file,
                                 const std::filesystem::path& key_file);

}  // namespace certwatch::pki
