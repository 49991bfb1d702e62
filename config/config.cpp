#include "config/config.h"

namespace certwatch::config {

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

// The name array holds string literals, so data() is NUL-terminated.
const char* to_string(Protocol p) {
  return kProtocolNames.at(static_cast<size_t>(p)).data();
}

pki::SeverityPolicy Config::severity_policy() const {
  pki::SeverityPolicy policy;
  for (const auto& [id, severity] : severities) policy.set(id, severity);
  return policy;
}

}  // namespace certwatch::config
