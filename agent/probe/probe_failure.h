// Where a probe of an endpoint failed, and the one place that says which finding each failure
// is and how it reads. Every consumer (the agent's judge, `certwatch probe`, the renewal's
// verifier, the broker diagnosis) asks these functions instead of spelling a finding id.
#pragma once

namespace certwatch::agent::probe {

enum class ProbeFailure {
  none,       // every step succeeded
  resolve,    // the name gave no address (or the lookup timed out)
  connect,    // the TCP connection failed or timed out
  starttls,   // the plaintext dialogue before the handshake (starttls.h) failed
  handshake,  // the TLS handshake failed, was refused after it ended, or sent no certificate
  exchange,   // the protocol's exchange after the handshake (the MQTT CONNECT/CONNACK) failed
};

// The finding the failure is reported as ("endpoint.unreachable"...); "" for none.
const char* finding_id(ProbeFailure f);
// What failed, in words for a person ("the TLS handshake failed"); "" for none.
const char* describe(ProbeFailure f);

}  // namespace certwatch::agent::probe
