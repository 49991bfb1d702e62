// Boost 1.74's asio/ssl compiles inline code that names OpenSSL's deprecated RSA/DH calls,
// which the build hides (OPENSSL_NO_DEPRECATED): this file sees them, as agent/probe/
// tls_probe.cpp does, so that asio::ssl builds; nothing here calls them.
#undef OPENSSL_NO_DEPRECATED

#include "agent/alerts/broker_diagnosis.h"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/connect.hpp>
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#pragma GCC diagnostic pop
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "pki/duration.h"
#include "pki/load.h"

namespace certwatch::agent {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::optional<BrokerAddress> broker_address(const std::string& url) {
  const auto sep = url.find("://");
  if (sep == std::string::npos) return std::nullopt;
  const std::string scheme = url.substr(0, sep);
  std::string rest = url.substr(sep + 3);
  rest = rest.substr(0, rest.find('/'));
  BrokerAddress a;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string::npos) return std::nullopt;
    a.host = rest.substr(1, close - 1);
    if (close + 1 < rest.size() && rest[close + 1] == ':') a.port = rest.substr(close + 2);
  } else {
    const auto colon = rest.rfind(':');
    a.host = rest.substr(0, colon);
    if (colon != std::string::npos) a.port = rest.substr(colon + 1);
  }
  if (a.port.empty())
    a.port = scheme == "mqtts" || scheme == "ssl" ? "8883" : scheme == "wss" ? "443" : scheme == "ws" ? "80" : "1883";
  if (a.host.empty()) return std::nullopt;
  return a;
}

std::optional<std::string> client_cert_problem(const std::filesystem::path& cert, int64_t now) {
  auto in = pki::load_file(cert);
  if (!in.ok() || in.loaded->certs.empty()) return std::nullopt;
  const auto v = in.loaded->certs.front().validity();
  if (now > v.not_after)
    return "client certificate " + cert.string() + " expired on " + pki::format_iso8601(v.not_after) +
           " (the broker refuses it)";
  if (now < v.not_before)
    return "client certificate " + cert.string() + " is not valid before " + pki::format_iso8601(v.not_before);
  return std::nullopt;
}

namespace {

bool tls_scheme(const std::string& url) {
  return url.starts_with("mqtts://") || url.starts_with("ssl://") || url.starts_with("wss://");
}

// OpenSSL's reason for a TLS error ("certificate verify failed", "sslv3 alert certificate
// expired"), without asio's " (SSL routines)" decoration.
std::string tls_reason(const boost::system::error_code& ec) {
  std::string m = ec.message();
  if (const auto p = m.find(" ("); p != std::string::npos) m.resize(p);
  return m;
}

struct Attempt : std::enable_shared_from_this<Attempt> {
  Attempt(asio::io_context& io, BrokerAddress a, bool tls, std::function<void(std::string)> d)
      : ctx(asio::ssl::context::tls_client), stream(io, ctx), resolver(io), timer(io), address(std::move(a)),
        use_tls(tls), done(std::move(d)) {}
  asio::ssl::context ctx;
  asio::ssl::stream<tcp::socket> stream;
  tcp::resolver resolver;
  asio::steady_timer timer;
  BrokerAddress address;
  bool use_tls;
  std::function<void(std::string)> done;
  bool finished = false;
  char byte = 0;

  std::string where() const { return address.host + ":" + address.port; }
  void finish(std::string why) {
    if (finished) return;
    finished = true;
    timer.cancel();
    resolver.cancel();
    boost::system::error_code ignored;
    stream.next_layer().close(ignored);
    done(std::move(why));
  }
  // The agent's own TLS settings, as Paho gets them; a file problem is the answer already.
  std::optional<std::string> setup(const BrokerTls& tls) {
    boost::system::error_code ec;
    if (tls.ca) {
      std::error_code fec;
      if (std::filesystem::is_directory(*tls.ca, fec))
        ctx.add_verify_path(tls.ca->string(), ec);
      else
        ctx.load_verify_file(tls.ca->string(), ec);
      if (ec) return "CA " + tls.ca->string() + ": " + tls_reason(ec);
    } else {
      ctx.set_default_verify_paths(ec);
    }
    if (tls.cert) {
      ctx.use_certificate_chain_file(tls.cert->string(), ec);
      if (ec) return "client certificate " + tls.cert->string() + ": " + tls_reason(ec);
    }
    if (tls.key) {
      ctx.use_private_key_file(tls.key->string(), asio::ssl::context::pem, ec);
      if (ec) return "client key " + tls.key->string() + ": " + tls_reason(ec);  // the path, never the key
    }
    stream.set_verify_mode(asio::ssl::verify_peer);
    stream.set_verify_callback(asio::ssl::host_name_verification(address.host));
    boost::system::error_code ignored;
    if (!asio::ip::make_address(address.host, ignored).is_unspecified() || ignored)
      SSL_set_tlsext_host_name(stream.native_handle(), address.host.c_str());
    return std::nullopt;
  }
  void start(std::chrono::milliseconds timeout) {
    auto self = shared_from_this();
    timer.expires_after(timeout);
    timer.async_wait([self, timeout](const boost::system::error_code& ec) {
      if (!ec)
        self->finish("no answer from " + self->where() + " within " + std::to_string(timeout.count() / 1000) +
                     " s (broker down, or a firewall drops the connection)");
    });
    resolver.async_resolve(address.host, address.port, [self](const boost::system::error_code& ec, tcp::resolver::results_type r) {
      if (self->finished) return;
      if (ec) return self->finish("cannot resolve " + self->address.host + ": " + ec.message());
      asio::async_connect(self->stream.next_layer(), r, [self](const boost::system::error_code& ec2, const tcp::endpoint&) {
        if (self->finished) return;
        if (ec2) return self->finish("cannot connect to " + self->where() + ": " + ec2.message());
        if (!self->use_tls)
          return self->finish("the broker at " + self->where() + " accepts TCP but ended the MQTT CONNECT (see its log)");
        self->handshake();
      });
    });
  }
  void handshake() {
    auto self = shared_from_this();
    stream.async_handshake(asio::ssl::stream_base::client, [self](const boost::system::error_code& ec) {
      if (self->finished) return;
      if (ec) {
        const long verify = SSL_get_verify_result(self->stream.native_handle());
        if (verify != X509_V_OK)
          return self->finish("TLS handshake with " + self->where() + " failed: certificate verify failed: " +
                              X509_verify_cert_error_string(verify));
        return self->finish("TLS handshake with " + self->where() + " failed: " + tls_reason(ec));
      }
      // TLS 1.3: a client certificate the broker refuses comes back as an alert after the
      // handshake, on the first read.
      self->stream.async_read_some(asio::buffer(&self->byte, 1), [self](const boost::system::error_code& ec2, std::size_t) {
        if (self->finished) return;
        if (ec2 && ec2.category() == asio::error::get_ssl_category())
          return self->finish("the broker at " + self->where() + " refused the TLS session: " + tls_reason(ec2));
        self->finish("TLS with " + self->where() + " works; the broker ended the MQTT CONNECT (see its log)");
      });
    });
  }
};

}  // namespace

void diagnose_broker(asio::io_context& io, const std::string& url, const BrokerTls& tls,
                     std::chrono::milliseconds timeout, std::function<void(std::string)> done) {
  auto address = broker_address(url);
  if (!address) return done("cannot tell the broker's host and port from '" + url + "'");
  auto attempt = std::make_shared<Attempt>(io, std::move(*address), tls_scheme(url), std::move(done));
  if (attempt->use_tls)
    if (auto problem = attempt->setup(tls)) return attempt->finish(*problem);
  attempt->start(timeout);
}

}  // namespace certwatch::agent
