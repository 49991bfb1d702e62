// The finding ids of the endpoint catalogue (pki/judge/finding.h) that a probe can raise: a
// failure before any byte of TLS is endpoint.unreachable, of TLS itself
// endpoint.handshake_failed, of the protocol around it endpoint.protocol_failed.
#include "agent/probe/probe_failure.h"

#include "pki/judge/finding.h"

namespace certwatch::agent::probe {

const char* finding_id(ProbeFailure f) {
  switch (f) {
    case ProbeFailure::none:
      return "";
    case ProbeFailure::resolve:
    case ProbeFailure::connect:
      return pki::fid::endpoint_unreachable.data();
    case ProbeFailure::handshake:
      return pki::fid::endpoint_handshake_failed.data();
    case ProbeFailure::starttls:
    case ProbeFailure::exchange:
      return pki::fid::endpoint_protocol_failed.data();
  }
  return "";
}

const char* describe(ProbeFailure f) {
  switch (f) {
    case ProbeFailure::none:
      return "";
    case ProbeFailure::resolve:
      return "the name did not resolve";
    case ProbeFailure::connect:
      return "the connection failed";
    case ProbeFailure::starttls:
      return "the STARTTLS dialogue failed";
    case ProbeFailure::handshake:
      return "the TLS handshake failed";
    case ProbeFailure::exchange:
      return "the exchange after the handshake failed";
  }
  return "";
}

}  // namespace certwatch::agent::probe
