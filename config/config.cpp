#include "config/config.h"

namespace config {

namespace {

std::string join_host_port(const std::string& host, uint16_t port) {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace

std::string ListenAddress::to_string() const {
  return join_host_port(host, port);
}

std::string HostPort::to_string() const {
  return join_host_port(host, port);
}

const char* to_string(Purpose p) {
  return p == Purpose::server ? "server" : "client";
}

const char* to_string(Protocol p) {
  switch (p) {
    case Protocol::tls:
      return "tls";
    case Protocol::mqtt:
      return "mqtt";
    case Protocol::smtp:
      return "smtp";
    case Protocol::imap:
      return "imap";
    case Protocol::pop3:
      return "pop3";
    case Protocol::ftp:
      return "ftp";
    case Protocol::postgres:
      return "postgres";
  }
  return "tls";
}

const char* to_string(KeyType k) {
  switch (k) {
    case KeyType::ec_p256:
      return "ec-p256";
    case KeyType::ec_p384:
      return "ec-p384";
    case KeyType::rsa_2048:
      return "rsa-2048";
    case KeyType::rsa_3072:
      return "rsa-3072";
    case KeyType::rsa_4096:
      return "rsa-4096";
    case KeyType::ed25519:
      return "ed25519";
  }
  return "ec-p256";
}

std::string San::to_string() const {
  return (kind == Kind::dns ? "DNS:" : "IP:") + value;
}

pki::SeverityPolicy Config::severity_policy() const {
  pki::SeverityPolicy policy;
  for (const auto& [id, severity] : severities) policy.set(id, severity);
  return policy;
}

}  // namespace config
