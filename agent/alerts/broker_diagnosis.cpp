// The broker's diagnosis runs the endpoint prober (agent/probe/tls_probe.h): the same
// resolve, connect and handshake under deadlines, and the served chain judged by pki/ against
// the agent's own `mqtt.ca` and the broker's host name.
#include "agent/alerts/broker_diagnosis.h"

#include <openssl/ssl.h>

#include <cstdlib>
#include <ctime>
#include <memory>

#include "agent/probe/tls_probe.h"
#include "base/duration.h"
#include "config/address.h"
#include "config/judge_context.h"
#include "pki/judge/finding.h"
#include "pki/judge/judge.h"
#include "pki/load/load.h"
#include "pki/verify/served_chain.h"

namespace certwatch::agent {

certwatch::Result<BrokerAddress> broker_address(const std::string& url) {
  const auto sep = url.find("://");
  if (sep == std::string::npos) return certwatch::make_error("no scheme", ErrorKind::invalid_input);
  const std::string scheme = url.substr(0, sep);
  std::string rest = url.substr(sep + 3);
  rest = rest.substr(0, rest.find('/'));
  const uint16_t default_port = scheme == "mqtts" || scheme == "ssl" ? 8883
                                : scheme == "wss"                    ? 443
                                : scheme == "ws"                     ? 80
                                                                     : 1883;
  auto hp = config::parse_authority(rest, default_port);
  if (!hp) return hp.error();
  return BrokerAddress{hp->host, hp->port};
}

std::optional<std::string> client_cert_problem(const std::filesystem::path& cert, int64_t now) {
  auto in = pki::load_file(cert);
  if (!in.ok() || in.loaded->certs.empty()) return std::nullopt;
  const auto v = in.loaded->certs.front().validity();
  if (now > v.not_after)
    return "client certificate " + cert.string() + " expired on " +
           certwatch::format_iso8601(v.not_after) + " (the broker refuses it)";
  if (now < v.not_before)
    return "client certificate " + cert.string() + " is not valid before " +
           certwatch::format_iso8601(v.not_before);
  return std::nullopt;
}

namespace {

BrokerDiagnosis failed(std::string words) {
  return {.transport_ok = false, .words = std::move(words)};
}

// Every step the agent can check passed: the broker refused the CONNECT itself, or left it
// unanswered.
BrokerDiagnosis broker_refused(std::string words) {
  return {.transport_ok = true, .words = std::move(words)};
}

// What the broker did with the CONNECT, as far as the agent can tell.
std::string connect_fate(const std::optional<std::chrono::seconds>& unanswered) {
  if (unanswered)
    return "sent no CONNACK within " + std::to_string(unanswered->count()) +
           " s (it accepts connections and never answers: see its log and load)";
  return "ended the MQTT CONNECT (see its log)";
}

bool tls_scheme(const std::string& url) {
  return url.starts_with("mqtts://") || url.starts_with("ssl://") || url.starts_with("wss://");
}

// What the handshake showed: the broker's chain against our trust (the anchors Paho verifies
// the broker with) and its host name.
BrokerDiagnosis judge_served(const probe::AddressOutcome& a, const BrokerTls& tls,
                             const BrokerAddress& address, const std::string& where, int64_t now,
                             const std::optional<std::chrono::seconds>& unanswered) {
  pki::TrustStore trust;  // read per diagnosis: the files may have changed since the last one
  const pki::Report r =
      pki::judge_chain(where, a.chain, std::nullopt,
                       config::broker_judge_context(tls.ca, address.host, trust).at(now));
  if (!r.trusted)
    return failed("TLS handshake with " + where + " failed: certificate verify failed: " +
                  r.verify_error.value_or("no path to a trusted CA"));
  for (const auto& f : r.findings)
    if (f.id == pki::fid::leaf_hostname_mismatch)
      return failed("TLS handshake with " + where +
                    " failed: certificate verify failed: " + f.message);
  return broker_refused("TLS with " + where + " works; the broker " + connect_fate(unanswered));
}

}  // namespace

void diagnose_broker(boost::asio::io_context& io, const std::string& url, const BrokerTls& tls,
                     std::chrono::milliseconds timeout, int64_t now,
                     std::optional<std::chrono::seconds> unanswered,
                     std::function<void(BrokerDiagnosis)> done) {
  auto address = broker_address(url);
  if (!address)
    return done(failed("cannot tell the broker's host and port from '" + url +
                       "': " + address.error().message));
  const bool use_tls = tls_scheme(url);
  pki::UniquePtr<SSL_CTX> ssl(SSL_CTX_new(TLS_client_method()));
  if (!ssl) return done(failed("cannot create a TLS context"));
  // The agent's own client identity, as Paho presents it; a file problem is the answer already.
  if (use_tls && tls.cert && tls.key)
    if (auto ok = pki::use_client_identity(ssl.get(), *tls.cert, *tls.key); !ok)
      return done(failed("client certificate " + tls.cert->string() + ": " + ok.error().message));
  probe::TlsTarget target;
  target.host = address->host;
  target.port = address->port;
  target.sni = probe::is_ip_literal(address->host) ? "" : address->host;
  // One deadline for the whole diagnosis, shared by its steps.
  target.step_timeout = timeout / 3;
  const std::string where = address->host + ":" + std::to_string(address->port);
  (void)probe::start_probe(
      io, target, std::make_shared<probe::ProbeContext>(ssl.get()),
      [done = std::move(done), tls, address = *address, where, use_tls, now,
       unanswered](probe::TlsProbeResult r) {
        if (r.resolve_error) return done(failed(*r.resolve_error));
        const probe::AddressOutcome& a = r.addresses.front();
        if (a.failed == probe::ProbeFailure::connect) {
          const std::string reason =
              a.reason.starts_with("connect: ") ? a.reason.substr(9) : a.reason;
          return done(failed("cannot connect to " + where + ": " + reason));
        }
        // A plain MQTT listener answers our ClientHello by closing: TCP is
        // what we could check.
        if (!use_tls)
          return done(broker_refused("the broker at " + where + " accepts TCP but " +
                                     connect_fate(unanswered)));
        if (a.chain.empty())
          return done(failed("TLS handshake with " + where + " failed: " + a.reason));
        done(judge_served(a, tls, address, where, now, unanswered));
      });
}

}  // namespace certwatch::agent
