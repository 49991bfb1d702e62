#include "config/address.h"

#include <arpa/inet.h>

#include <array>
#include <cctype>
#include <charconv>
#include <string>

#include "base/idna.h"
#include "pki/x509/dn.h"

namespace certwatch::config {
namespace {

struct Split {
  std::string_view host;
  std::string_view port;
  bool bracketed = false;
};

// Splits "host:port" / "[v6]:port" without judging either part.
certwatch::Result<Split> split_host_port(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  Split s;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos)
      return certwatch::make_error("bad address " + quoted + ": missing ']'");
    s.host = text.substr(1, close - 1);
    s.bracketed = true;
    const auto rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':')
      return certwatch::make_error("bad address " + quoted + ": expected ':PORT' after ']'");
    s.port = rest.substr(1);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos)
      return certwatch::make_error("bad address " + quoted + ": expected HOST:PORT");
    s.host = text.substr(0, colon);
    s.port = text.substr(colon + 1);
    if (s.host.find(':') != std::string_view::npos)
      return certwatch::make_error("bad address " + quoted +
                                   ": write IPv6 addresses in brackets, e.g. [::1]:9793");
  }
  if (s.host.empty()) return certwatch::make_error("bad address " + quoted + ": empty host");
  return s;
}

// Host part (unjudged) and a valid port 1-65535.
certwatch::Result<Split> split_and_check_port(std::string_view text, uint16_t& port) {
  auto split = split_host_port(text);
  if (!split) return split;
  unsigned value = 0;
  const auto* end = split->port.data() + split->port.size();
  const auto [ptr, ec] = std::from_chars(split->port.data(), end, value);
  if (split->port.empty() || ec != std::errc() || ptr != end || value < 1 || value > 65535)
    return certwatch::make_error("bad address '" + std::string(text) + "': port must be 1-65535");
  port = static_cast<uint16_t>(value);
  return split;
}

}  // namespace

certwatch::Result<ListenAddress> parse_listen_address(std::string_view text) {
  ListenAddress addr;
  auto split = split_and_check_port(text, addr.port);
  if (!split) return split.error();
  if (!split->bracketed && split->host == "localhost") {
    addr.host = "127.0.0.1";
    return addr;
  }
  auto ip = pki::normalize_ip(split->host);
  if (!ip || (split->bracketed != (ip->find(':') != std::string::npos)))
    return certwatch::make_error("bad listen address '" + std::string(text) +
                                 "': expected IP:PORT or [IPv6]:PORT (e.g. 127.0.0.1:9793)");
  addr.host = *ip;
  return addr;
}

certwatch::Result<HostPort> parse_host_port(std::string_view text) {
  HostPort hp;
  auto split = split_and_check_port(text, hp.port);
  if (!split) return split.error();
  if (auto ip = pki::normalize_ip(split->host)) {
    hp.host = *ip;
    return hp;
  }
  if (!split->bracketed) {
    // Resolvers, SNI and certificates take A-labels: a U-label host is converted here once.
    auto ascii = certwatch::host_to_ascii(split->host);
    if (!ascii)
      return certwatch::make_error(
          "bad address '" + std::string(text) + "': " + ascii.error().message,
          ErrorKind::invalid_input);
    if (pki::check_dns_name(*ascii).ok()) {
      hp.host = std::move(*ascii);
      return hp;
    }
  }
  return certwatch::make_error("bad address '" + std::string(text) +
                               "': host is neither a DNS name nor an IP address");
}

certwatch::Result<HostPort> parse_authority(std::string_view text, uint16_t default_port) {
  const bool bracketed = !text.empty() && text.front() == '[';
  const auto close = text.find(']');
  // An unbracketed IPv6 address has many colons: parse_host_port refuses it with its advice.
  const bool has_port = bracketed ? close != std::string_view::npos && close + 1 < text.size()
                                  : text.find(':') != std::string_view::npos;
  if (has_port) return parse_host_port(text);
  const std::string with_port = std::string(text) + ":" + std::to_string(default_port);
  auto hp = parse_host_port(with_port);
  if (hp) return hp;
  // The message quotes what was written, not the port we added.
  std::string message = hp.error().message;
  const std::string added = "'" + with_port + "'";
  if (const auto at = message.find(added); at != std::string::npos)
    message.replace(at, added.size(), "'" + std::string(text) + "'");
  return certwatch::make_error(std::move(message), hp.error().kind);
}

}  // namespace certwatch::config
