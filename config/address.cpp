#include "config/address.h"

#include <arpa/inet.h>

#include <array>
#include <cctype>
#include <charconv>
#include <string>

namespace config {
namespace {

struct Split {
  std::string_view host;
  std::string_view port;
  bool bracketed = false;
};

// Splits "host:port" / "[v6]:port" without judging either part.
pki::Result<Split> split_host_port(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  Split s;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos)
      return pki::make_error("bad address " + quoted + ": missing ']'");
    s.host = text.substr(1, close - 1);
    s.bracketed = true;
    const auto rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':')
      return pki::make_error("bad address " + quoted + ": expected ':PORT' after ']'");
    s.port = rest.substr(1);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos)
      return pki::make_error("bad address " + quoted + ": expected HOST:PORT");
    s.host = text.substr(0, colon);
    s.port = text.substr(colon + 1);
    if (s.host.find(':') != std::string_view::npos)
      return pki::make_error("bad address " + quoted +
                             ": write IPv6 addresses in brackets, e.g. [::1]:9793");
  }
  if (s.host.empty()) return pki::make_error("bad address " + quoted + ": empty host");
  return s;
}

// Host part (unjudged) and a valid port 1-65535.
pki::Result<Split> split_and_check_port(std::string_view text, uint16_t& port) {
  auto split = split_host_port(text);
  if (!split) return split;
  unsigned value = 0;
  const auto* end = split->port.data() + split->port.size();
  const auto [ptr, ec] = std::from_chars(split->port.data(), end, value);
  if (split->port.empty() || ec != std::errc() || ptr != end || value < 1 || value > 65535)
    return pki::make_error("bad address '" + std::string(text) + "': port must be 1-65535");
  port = static_cast<uint16_t>(value);
  return split;
}

}  // namespace

pki::Result<std::string> normalize_ip(std::string_view text) {
  const std::string s(text);
  std::array<unsigned char, 16> buf{};
  std::array<char, INET6_ADDRSTRLEN> out{};
  for (const int family : {AF_INET, AF_INET6}) {
    if (inet_pton(family, s.c_str(), buf.data()) == 1 &&
        inet_ntop(family, buf.data(), out.data(), out.size()) != nullptr)
      return std::string(out.data());
  }
  return pki::make_error("'" + s + "' is not an IPv4 or IPv6 address");
}

bool is_dns_name(std::string_view text) {
  if (text.empty() || text.size() > 253) return false;
  if (text.starts_with("*.")) text.remove_prefix(2);
  size_t label = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '.') {
      if (label == 0 || label > 63) return false;
      label = 0;
      continue;
    }
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (!std::isalnum(c) && c != '-' && c != '_') return false;
    ++label;
  }
  return true;
}

pki::Result<ListenAddress> parse_listen_address(std::string_view text) {
  ListenAddress addr;
  auto split = split_and_check_port(text, addr.port);
  if (!split) return split.error();
  if (!split->bracketed && split->host == "localhost") {
    addr.host = "127.0.0.1";
    return addr;
  }
  auto ip = normalize_ip(split->host);
  if (!ip || (split->bracketed != (ip->find(':') != std::string::npos)))
    return pki::make_error("bad listen address '" + std::string(text) +
                           "': expected IP:PORT or [IPv6]:PORT (e.g. 127.0.0.1:9793)");
  addr.host = *ip;
  return addr;
}

pki::Result<HostPort> parse_host_port(std::string_view text) {
  HostPort hp;
  auto split = split_and_check_port(text, hp.port);
  if (!split) return split.error();
  if (auto ip = normalize_ip(split->host)) {
    hp.host = *ip;
  } else if (!split->bracketed && is_dns_name(split->host)) {
    hp.host = std::string(split->host);
  } else {
    return pki::make_error("bad address '" + std::string(text) +
                           "': host is neither a DNS name nor an IP address");
  }
  return hp;
}

pki::Result<San> parse_san(std::string_view text) {
  const auto colon = text.find(':');
  std::string prefix(text.substr(0, colon == std::string_view::npos ? 0 : colon));
  for (auto& c : prefix) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::string quoted = "'" + std::string(text) + "'";
  if (colon == std::string_view::npos || (prefix != "DNS" && prefix != "IP"))
    return pki::make_error("bad SAN " + quoted + ": expected DNS:name or IP:address");
  const auto value = text.substr(colon + 1);
  San san;
  if (prefix == "IP") {
    auto ip = normalize_ip(value);
    if (!ip) return pki::make_error("bad SAN " + quoted + ": " + ip.error().message);
    san.kind = San::Kind::ip;
    san.value = *ip;
    return san;
  }
  if (!is_dns_name(value))
    return pki::make_error("bad SAN " + quoted + ": '" + std::string(value) +
                           "' is not a DNS name");
  if (normalize_ip(value))
    return pki::make_error("bad SAN " + quoted +
                           ": an IP address must be written IP:" + std::string(value));
  san.value = std::string(value);
  return san;
}

}  // namespace config
