// One probe of a remote TLS endpoint: resolve the name, then for every address it resolves to
// (A and AAAA) connect and handshake on its own, each step under one deadline for the whole
// step (a STARTTLS dialogue or an MQTT exchange of many reads and writes included), the whole
// probe under probe_bound(), and keep
// what the server sent. Judging the chain is the caller's (pki/judge/judge.h); this file owns the
// sockets only, pki/verify/served_chain.h owns the certificates.
//
// start_probe() runs asynchronously on the caller's io_context (the agent's: a black-hole
// address holds a socket and a timer, never a thread); probe_tls() is the same probe run to
// completion on a private io_context, for `certwatch probe`.
#pragma once

#include <openssl/ssl.h>
#include <utility>  // before asio: Boost 1.74 + GCC 12 + C++20

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/probe/probe_failure.h"
#include "agent/probe/starttls.h"
#include "base/result.h"
#include "pki/x509/certificate.h"

namespace certwatch::agent::probe {

// The endpoint protocol (config/config.h: one enum, one names table). After the handshake an
// MQTT CONNECT must get a CONNACK (mqtt); before it, STARTTLS protocols run their dialogue
// (starttls.h); tls does neither.
using Protocol = config::Protocol;

struct TlsTarget {
  std::string host;  // name or IP literal, without brackets
  uint16_t port = 0;
  std::string sni;  // "" : none sent (an IP literal is never sent as SNI, RFC 6066 3)
  // For each of resolve, connect, STARTTLS dialogue, handshake, MQTT exchange: the whole step.
  std::chrono::milliseconds step_timeout{10000};
  // The STARTTLS protocols run their plaintext dialogue (starttls_of) after connect and
  // before the handshake; tls and mqtt have none.
  Protocol protocol = Protocol::tls;
};

// What happened at one address: `failed` says which step failed (none on success), with
// `reason`; finding_id(failed) is the finding it is reported as.
struct AddressOutcome {
  std::string address;  // textual IP ("127.0.0.1", "::1")
  ProbeFailure failed = ProbeFailure::none;
  std::string reason;
  std::vector<pki::Certificate> chain;  // as sent, leaf first; empty unless the handshake ended
  std::string tls_version, cipher;
  std::chrono::milliseconds duration{0};
  bool ok() const { return failed == ProbeFailure::none; }
};

struct TlsProbeResult {
  std::optional<std::string> resolve_error;  // set: no address was probed
  std::vector<AddressOutcome> addresses;     // in resolver order
};

// How long a whole probe of `target` may take: step_timeout for each step it can take (resolve,
// connect, handshake, the wait for a late TLS 1.3 alert, and the STARTTLS dialogue or the MQTT
// exchange). Each step ends by its own deadline first; this bound is the net that makes `done`
// run even so, every address then failing with "probe timed out after N ms".
std::chrono::milliseconds probe_bound(const TlsTarget& target);

// An IPv4 or IPv6 address in textual form (never sent as SNI; no brackets).
bool is_ip_literal(const std::string& s);

// A new client SSL_CTX as every probe wants it (certwatch probe and the agent):
//  - security level 0: a server with a weak key or an old signature still completes the
//    handshake, so the judge can name the problem (cert.weak_key...) instead of a bare alert;
//  - no chain verification inside the handshake: the judge verifies the served chain against
//    the configured trust (pki/judge/judge.h), and OpenSSL's own pass, whose verdict nothing reads
//    under verify_none, would build and check the chain a second time;
//  - no session tickets: a probe never resumes (a resumed session shows no certificate), and
//    taking a TLS 1.2 ticket costs the client a session copy per handshake.
// An error (ErrorKind::crypto) if OpenSSL cannot make one (out of memory, no TLS method).
certwatch::Result<pki::UniquePtr<SSL_CTX>> new_client_ssl_ctx();

// A client TLS context shared by probes (it carries the client identity, if any; peer
// verification is left to the judge). Holds its own reference to the SSL_CTX. A context that
// could not be made is held as its error: a probe with it fails at the handshake with that
// error as its reason, so an endpoint keeps reporting a finding (and a configuration applied
// on SIGHUP goes on) instead of an exception leaving the event loop.
class ProbeContext {
 public:
  explicit ProbeContext(SSL_CTX* ctx);  // takes a reference of its own; the caller keeps its
  explicit ProbeContext(certwatch::Error unusable);
  ~ProbeContext();
  ProbeContext(const ProbeContext&) = delete;
  ProbeContext& operator=(const ProbeContext&) = delete;
  struct Impl;
  Impl& impl() { return *impl_; }
  // Why this context cannot be used; null when it can.
  const certwatch::Error* error() const { return impl_ ? nullptr : &error_; }

 private:
  std::unique_ptr<Impl> impl_;
  certwatch::Error error_;
};

// A probe in flight. Dropping the handle does not stop it; cancel() does (every socket is
// closed, `done` still runs once, with what was learnt so far).
class ProbeHandle {
 public:
  virtual ~ProbeHandle() = default;
  virtual void cancel() = 0;
};

using ProbeDone = std::function<void(TlsProbeResult)>;

// Starts probing `target` on `io`: addresses are probed concurrently, each step bounded by
// step_timeout, the whole probe by probe_bound(target). `done` runs on `io` exactly once, when
// every address has an outcome (or resolution failed), unless the io_context is destroyed first.
// With a context that holds an error, nothing is resolved: `done` gets one outcome (address "")
// failed at the handshake.
std::shared_ptr<ProbeHandle> start_probe(boost::asio::io_context& io, const TlsTarget& target,
                                         std::shared_ptr<ProbeContext> ctx, ProbeDone done);

// start_probe() on a private io_context, to completion. Blocks for at most probe_bound(target);
// never throws.
TlsProbeResult probe_tls(const TlsTarget& target, SSL_CTX* ctx);

}  // namespace certwatch::agent::probe
