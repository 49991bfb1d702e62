// One probe of a remote TLS endpoint: resolve the name, then for every address it resolves to
// (A and AAAA) connect and handshake on its own, each step under its own deadline, and keep
// what the server sent. Judging the chain is the caller's (pki/judge.h); this file owns the
// sockets only, pki/served_chain.h owns the certificates.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pki/certificate.h"

namespace certwatch::probe {

// What follows the handshake: nothing (tls), or an MQTT CONNECT that must get a CONNACK.
enum class Protocol { tls, mqtt };

struct TlsTarget {
  std::string host;  // name or IP literal, without brackets
  uint16_t port = 0;
  std::string sni;   // "" : none sent (an IP literal is never sent as SNI, RFC 6066 3)
  std::chrono::milliseconds step_timeout{10000};  // for each of resolve, connect, handshake, exchange
  Protocol protocol = Protocol::tls;
};

// What happened at one address. `failure` names the finding when the probe failed:
// "endpoint.unreachable" (connect), "endpoint.handshake_failed" (TLS) or
// "endpoint.protocol_failed" (the exchange after the handshake), with `reason`.
struct AddressOutcome {
  std::string address;  // textual IP ("127.0.0.1", "::1")
  std::string failure;  // "" on success
  std::string reason;
  std::vector<pki::Certificate> chain;  // as sent, leaf first; empty unless the handshake ended
  std::string tls_version, cipher;
  std::chrono::milliseconds duration{0};
};

struct TlsProbeResult {
  std::optional<std::string> resolve_error;  // set: no address was probed
  std::vector<AddressOutcome> addresses;     // in resolver order
};

// An IPv4 or IPv6 address in textual form (never sent as SNI; no brackets).
bool is_ip_literal(const std::string& s);

// Probes every address `target.host` resolves to with a client made from `ctx` (which carries
// the client identity, if any; peer verification is left to the judge; not consumed). Blocks for at most
// (1 + 2 × addresses) step timeouts plus a short post-handshake read; never throws.
TlsProbeResult probe_tls(const TlsTarget& target, SSL_CTX* ctx);

}  // namespace certwatch::probe
