// The `endpoints:` entries of the config: TLS servers to probe and how to judge what they serve.
#include "config/address.h"
#include "config/loader_sections.h"
#include "pki/x509/dn.h"

namespace certwatch::config::sections {

void Schema::endpoint(const Field& f, EndpointEntry& out) {
  const auto m = r_.map(f, {"target", "sni", "protocol", "interval", "timeout", "client_cert",
                            "client_key", "expect_file", "trust", "clients"});
  if (const auto* v = m.required("target"))
    if (auto hp = host_port(*v)) out.target = *hp;
  if (!pki::normalize_ip(out.target.host)) out.sni = out.target.host;  // no SNI for IP literals
  if (const auto* v = m.get("sni"))
    if (auto s = host_name(*v)) out.sni = *s;
  if (const auto* v = m.get("protocol"))
    if (auto i = r_.choice(*v, kProtocolNames)) out.protocol = static_cast<Protocol>(*i);
  if (const auto* v = m.get("interval"))
    if (auto d = r_.duration(*v, Seconds{1})) out.interval = *d;
  const Field* timeout = m.get("timeout");
  if (timeout != nullptr)
    if (auto d = r_.duration(*timeout, Seconds{1})) out.timeout = *d;
  if (out.timeout >= out.interval)
    r_.problem(timeout != nullptr ? timeout->mark() : m.mark(),
               m.where() + ": timeout must be shorter than interval");
  both_or_neither(m, "client_cert", "client_key", out.client_cert, out.client_key);
  if (const auto* v = m.get("expect_file")) out.expect_file = r_.path(*v, Need::nothing);
  if (const auto* v = m.get("trust")) out.trust = r_.paths(*v, Need::file_or_directory);
  if (const auto* v = m.get("clients")) out.clients = clients(*v);
}

}  // namespace certwatch::config::sections
