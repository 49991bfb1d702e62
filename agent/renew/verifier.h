// Proof that a reload took effect: handshake with the server until the leaf it serves is the
// new certificate (by SHA-256 of the DER), on every address the name resolves to, within a
// bounded number of attempts. No server confirms a reload by itself (REFERENCE.md), and
// Mosquitto applies SIGHUP a moment after the signal, so the first handshakes may still show
// the old certificate.
// The pauses between attempts are real time (steady_timer), like the file watcher's debounce:
// they wait for another process, not for certificate time.
// Thread-safety: io_context thread only.
#pragma once

#include <utility>  // before asio: Boost 1.74 + GCC 12 + C++20

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent/probe/tls_probe.h"

namespace certwatch::agent {

struct VerifyPolicy {
  int attempts = 20;
  std::chrono::milliseconds pause{250};  // between attempts
};

struct VerifyOutcome {
  bool served = false;        // every address served the expected leaf
  std::string served_sha256;  // of the last leaf seen ("" if none)
  std::string served_serial;
  // The last attempt's addresses that completed a handshake with another leaf, as
  // "ADDRESS serves serial S" (a stale node; empty when every failure was a failed step).
  std::vector<std::string> stale;
  std::string message;  // why not, naming every address that failed, for renewal.failed
  int attempts = 0;
};

using VerifyDone = std::function<void(VerifyOutcome)>;

// Probes `target` until its leaf's fingerprint is `expected_sha256` or the attempts run out;
// `done` runs once on `io`.
void verify_served(boost::asio::io_context& io, const probe::TlsTarget& target,
                   std::shared_ptr<probe::ProbeContext> ctx, std::string expected_sha256,
                   VerifyPolicy policy, VerifyDone done);

}  // namespace certwatch::agent
