// How an ACME challenge gets answered. The protocol client (acme_client.h) knows nothing about
// listeners, webroots or DNS: it hands each pending authorization's challenge to the solver of
// that type, tells the server to validate, and always asks the solver to clean up afterwards.
// Backends (issue #14): http-01 by the agent's own listener, http-01 into a webroot directory,
// dns-01 through operator hook commands.
// Thread-safety: io_context thread only; `done` runs on the io_context, exactly once.
#pragma once

#include <functional>
#include <string>

#include "base/result.h"

namespace certwatch::agent::acme {

struct Challenge {
  std::string type;        // "http-01" or "dns-01"
  std::string identifier;  // the DNS name being validated (no "*." prefix)
  std::string token;       // the server's token (URL-safe, checked by the client)
  // token "." base64url(JWK thumbprint). A credential while the order is pending: never logged
  // in full (log `token` or a prefix only).
  std::string key_authorization;
  // dns-01: the TXT value, base64url(SHA-256(key_authorization)); empty for http-01.
  std::string dns_value;
};

using SolverDone = std::function<void(certwatch::Result<void>)>;

class ChallengeSolver {
 public:
  virtual ~ChallengeSolver() = default;
  // The challenge type this solver answers ("http-01", "dns-01").
  virtual std::string type() const = 0;
  // Make the response reachable (listener answering the token, file written, TXT record set).
  // An error here fails the order with that message; cleanup() is still called.
  virtual void present(const Challenge& challenge, SolverDone done) = 0;
  // Undo present(). Called once per present(), whatever the order's outcome. Errors are logged
  // by the caller, they do not fail an order that was otherwise issued.
  virtual void cleanup(const Challenge& challenge, SolverDone done) = 0;
  // One line for logs ("http-01 listener on 127.0.0.1:80").
  virtual std::string describe() const = 0;
};

}  // namespace certwatch::agent::acme
