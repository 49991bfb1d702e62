// Parsers for the address-like values of the config (and of the CLI: `probe HOST:PORT`,
// `pki issue --san`). Messages say what was expected; callers add the position.
#pragma once

#include <string_view>

#include "config/config.h"
#include "pki/result.h"

namespace config {

// "IP:PORT" or "[IPv6]:PORT" to bind to; "localhost" means 127.0.0.1. Port 1-65535.
pki::Result<ListenAddress> parse_listen_address(std::string_view text);

// "HOST:PORT" or "[IPv6]:PORT" to connect to; HOST is a DNS name or an IP literal.
pki::Result<HostPort> parse_host_port(std::string_view text);

// "DNS:name" or "IP:address" (prefix case-insensitive); the IP is normalised
// ("IP:0:0::1" -> "IP:::1").
pki::Result<San> parse_san(std::string_view text);

// Normalised text of an IPv4 or IPv6 literal, or an error.
pki::Result<std::string> normalize_ip(std::string_view text);

// A DNS name as used in SANs and host checks: labels of [A-Za-z0-9_-], dots between, an
// optional leading "*." wildcard label, at most 253 characters.
bool is_dns_name(std::string_view text);

}  // namespace config
