// Parsers for the address-like values of the config (and of the CLI: `probe HOST:PORT`). Messages
// say what was expected; callers add the position.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/result.h"
#include "config/config.h"

namespace certwatch::config {

// "IP:PORT" or "[IPv6]:PORT" to bind to; "localhost" means 127.0.0.1. Port 1-65535.
certwatch::Result<ListenAddress> parse_listen_address(std::string_view text);

// "HOST:PORT" or "[IPv6]:PORT" to connect to; HOST is a DNS name or an IP literal. A DNS name
// comes back in A-labels (base/idna.h); a name that is not valid IDNA is an error.
certwatch::Result<HostPort> parse_host_port(std::string_view text);

// A URL's authority, whose port may be left out: "HOST", "HOST:PORT", "[IPv6]", "[IPv6]:PORT";
// `default_port` when it is. Judged by parse_host_port's rules, with its messages.
certwatch::Result<HostPort> parse_authority(std::string_view text, uint16_t default_port);

// SANs, DNS names and IP literals follow pki's rules (pki/x509/dn.h: parse_san, check_dns_name,
// normalize_ip), so that what the config accepts is what the issuer accepts.

}  // namespace certwatch::config
