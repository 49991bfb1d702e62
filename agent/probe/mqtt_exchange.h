// The MQTT 3.1.1 exchange of `--protocol mqtt`: after the TLS handshake the probe sends a
// CONNECT and requires a CONNACK with return code 0, which proves the listener is a working
// broker that accepts our client certificate. Only the bytes live here; tls_probe.cpp does
// the I/O under its deadlines.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace certwatch::agent::probe {

// A CONNECT (MQTT 3.1.1, OASIS 3.1): clean session, keep-alive 60 s, no will, no user name;
// `client_id` at most 23 bytes of [0-9a-zA-Z] so every 3.1.1 broker takes it (3.1.3.1).
std::vector<unsigned char> mqtt_connect_packet(const std::string& client_id);

// The CONNACK is exactly 4 bytes: 0x20, remaining length 2, flags, return code (3.2).
inline constexpr size_t kConnackSize = 4;
// Judges the first 4 bytes the broker sent: ok for a CONNACK with return code 0, otherwise
// why not: "CONNACK return code 5 (not authorized)" (ErrorKind::refused), "not a CONNACK: ..."
// (ErrorKind::invalid_input).
certwatch::Result<void> check_connack(const std::array<unsigned char, kConnackSize>& bytes);

}  // namespace certwatch::agent::probe
