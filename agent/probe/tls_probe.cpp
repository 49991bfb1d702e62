// start_probe and probe_tls (see tls_probe.h). Every step of an address (connect, the STARTTLS
// dialogue, handshake, the MQTT exchange) arms one deadline timer for the whole step, which
// closes the socket when it passes: a black-hole address costs one timeout and nothing more, a
// server that trickles its greeting byte by byte cannot stretch a step read by read, and
// nothing waits for anything else. The probe as a whole has a bound of its own (probe_bound).
// Over 400 lines: an address's steps (connect, STARTTLS, handshake, the late alert, the MQTT
// exchange) are one state machine that reads top to bottom, sharing its socket and deadline.
// Boost 1.74's asio/ssl compiles inline code that names OpenSSL's deprecated RSA/DH calls,
// which the build hides (OPENSSL_NO_DEPRECATED, CMakeLists.txt). This file, and only this
// file, sees them so that asio::ssl builds (before any OpenSSL header); nothing here calls them.
#undef OPENSSL_NO_DEPRECATED

#include "agent/probe/tls_probe.h"

#include <unistd.h>

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#pragma GCC diagnostic pop

#include "agent/probe/mqtt_exchange.h"
#include "agent/probe/resolve.h"
#include "pki/verify/served_chain.h"

namespace certwatch::agent::probe {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using boost::system::error_code;
using std::chrono::milliseconds;

struct ProbeContext::Impl {
  explicit Impl(SSL_CTX* ctx) : asio_ctx((SSL_CTX_up_ref(ctx), ctx)) {}
  asio::ssl::context asio_ctx;  // owns the reference taken above
};

certwatch::Result<pki::UniquePtr<SSL_CTX>> new_client_ssl_ctx() {
  pki::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return make_error("cannot create a TLS client context", ErrorKind::crypto);
  SSL_CTX_set_security_level(ctx.get(), 0);
  SSL_CTX_set_cert_verify_callback(
      ctx.get(), [](X509_STORE_CTX*, void*) { return 1; }, nullptr);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
  return ctx;
}

ProbeContext::ProbeContext(SSL_CTX* ctx) : impl_(std::make_unique<Impl>(ctx)) {}
ProbeContext::ProbeContext(certwatch::Error unusable) : error_(std::move(unusable)) {}
ProbeContext::~ProbeContext() = default;

namespace {

// The outcome of an address that failed before its probe could start.
AddressOutcome failed_before_start(std::string address, std::string reason) {
  AddressOutcome o;
  o.address = std::move(address);
  o.failed = ProbeFailure::handshake;
  o.reason = std::move(reason);
  return o;
}

std::string timed_out(const char* step, milliseconds limit) {
  return std::string(step) + " timed out after " + std::to_string(limit.count()) + " ms";
}

// One address of one probe: connect, handshake, then the protocol's exchange. Owned by the
// handlers in flight (shared_from_this); reports through `done` exactly once.
class AddressProbe : public std::enable_shared_from_this<AddressProbe> {
 public:
  AddressProbe(asio::io_context& io, const TlsTarget& target, std::shared_ptr<ProbeContext> ctx,
               asio::ip::address ip, std::function<void(AddressOutcome)> done)
      : target_(target),
        ctx_(std::move(ctx)),
        stream_(io, ctx_->impl().asio_ctx),
        timer_(io),
        ip_(std::move(ip)),
        done_(std::move(done)) {
    out_.address = ip_.to_string();
  }

  void start() {
    started_ = SteadyClock::now();
    arm(target_.step_timeout, Deadline::close);
    stream_.next_layer().async_connect(
        tcp::endpoint(ip_, target_.port),
        [self = shared_from_this()](const error_code& ec) { self->on_connect(ec); });
  }

  // `why` becomes the reason of a step this ends (the probe's bound names itself).
  void cancel(std::string why) {
    cancelled_ = true;
    cancel_reason_ = std::move(why);
    close();
  }

 private:
  enum class Deadline { close, cancel_read };

  // One deadline at a time. `close` ends the connection (the step failed); `cancel_read`
  // only cancels a read that was allowed to find nothing (the wait for a late TLS 1.3 alert).
  void arm(milliseconds limit, Deadline kind) {
    expired_ = false;
    timer_.expires_after(limit);
    timer_.async_wait([self = shared_from_this(), kind](const error_code& ec) {
      if (ec) return;
      self->expired_ = true;
      error_code ignored;
      if (kind == Deadline::close)
        self->stream_.next_layer().close(ignored);
      else
        self->stream_.next_layer().cancel(ignored);
    });
  }
  // True when the step's handler ran because its deadline passed (or the probe was cancelled).
  bool disarm() {
    timer_.cancel();
    return expired();
  }
  // The same question inside a step whose deadline stays armed (the STARTTLS dialogue, the MQTT
  // exchange: one deadline over several reads and writes).
  bool expired() const { return expired_ || cancelled_; }

  void close() {
    error_code ignored;
    timer_.cancel();
    stream_.next_layer().close(ignored);
  }

  void finish(ProbeFailure failure, std::string reason) {
    if (!done_) return;
    close();
    out_.failed = failure;
    out_.reason = cancelled_ && failure != ProbeFailure::none ? cancel_reason_ : std::move(reason);
    out_.duration = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - started_);
    auto done = std::move(done_);
    done_ = nullptr;
    done(std::move(out_));
  }

  void on_connect(const error_code& ec) {
    if (disarm()) return finish(ProbeFailure::connect, timed_out("connect", target_.step_timeout));
    if (ec) return finish(ProbeFailure::connect, "connect: " + ec.message());
    connect_time_ = SteadyClock::now() - started_;
    const auto starttls = starttls_of(target_.protocol);
    if (!starttls) return handshake();
    dialogue_.emplace(*starttls, std::string());
    // One deadline for the whole dialogue: each read may bring a single byte (issue 22).
    arm(target_.step_timeout, Deadline::close);
    next_starttls_step(dialogue_->start());
  }

  std::string dialogue_timed_out() const {
    return "STARTTLS (" + std::string(config::to_string(target_.protocol)) + ") " +
           timed_out("dialogue", target_.step_timeout) + " (waiting for " +
           dialogue_->waiting_for() + ", " + std::to_string(dialogue_->received_bytes()) +
           " bytes received)";
  }

  // STARTTLS: the dialogue says what to send and when to read; its writes and reads share the
  // deadline armed in on_connect, and nothing is read past the server's go-ahead.
  void next_starttls_step(StartTlsNext next) {
    if (!next)
      return finish(ProbeFailure::starttls, "STARTTLS (" +
                                                std::string(config::to_string(target_.protocol)) +
                                                "): " + next.error().message);
    StartTlsStep step = std::move(next).value();
    if (!step.send.empty()) {
      plain_out_ = std::move(step.send);
      step.send.clear();
      asio::async_write(stream_.next_layer(), asio::buffer(plain_out_),
                        [self = shared_from_this(), step = std::move(step)](const error_code& ec,
                                                                            size_t) mutable {
                          if (self->expired())
                            return self->finish(ProbeFailure::starttls, self->dialogue_timed_out());
                          if (ec)
                            return self->finish(ProbeFailure::starttls,
                                                "STARTTLS write: " + ec.message());
                          self->next_starttls_step(std::move(step));
                        });
      return;
    }
    if (step.ready) {
      if (disarm()) return finish(ProbeFailure::starttls, dialogue_timed_out());
      return handshake();
    }
    if (!step.read)
      return finish(ProbeFailure::starttls, "STARTTLS: the dialogue ended without a go-ahead");
    stream_.next_layer().async_read_some(
        asio::buffer(plain_in_), [self = shared_from_this()](const error_code& ec, size_t n) {
          if (self->expired())
            return self->finish(ProbeFailure::starttls, self->dialogue_timed_out());
          if (ec == asio::error::eof) return self->next_starttls_step(self->dialogue_->closed());
          if (ec) return self->finish(ProbeFailure::starttls, "STARTTLS read: " + ec.message());
          self->next_starttls_step(
              self->dialogue_->received(std::string_view(self->plain_in_.data(), n)));
        });
  }

  void handshake() {
    SSL* ssl = stream_.native_handle();
    if (!target_.sni.empty() && !is_ip_literal(target_.sni))
      SSL_set_tlsext_host_name(ssl, target_.sni.c_str());
    stream_.set_verify_mode(asio::ssl::verify_none);  // trust is the judge's verdict
    arm(target_.step_timeout, Deadline::close);
    stream_.async_handshake(
        asio::ssl::stream_base::client,
        [self = shared_from_this()](const error_code& ec) { self->on_handshake(ec); });
  }

  void on_handshake(const error_code& ec) {
    if (disarm())
      return finish(ProbeFailure::handshake, timed_out("handshake", target_.step_timeout));
    if (ec) return finish(ProbeFailure::handshake, ec.message());
    SSL* ssl = stream_.native_handle();
    out_.tls_version = SSL_get_version(ssl);
    out_.cipher = SSL_get_cipher_name(ssl);
    out_.chain = pki::served_chain(ssl);
    if (out_.chain.empty())
      return finish(ProbeFailure::handshake, "the server sent no certificate");
    if (SSL_version(ssl) == TLS1_3_VERSION) return wait_for_late_alert();
    after_handshake();
  }

  // In TLS 1.3 the client's handshake ends before the server has read the client's
  // certificate: a refusal (certificate required, unknown CA) arrives as an alert after it.
  // One round trip is enough for it to arrive; connect took about one. For MQTT this wait
  // comes before the CONNECT: a CONNECT sent to a broker that has refused and closed draws a
  // reset, and a reset discards the alert unread.
  void wait_for_late_alert() {
    const auto rtt = std::chrono::duration_cast<milliseconds>(connect_time_);
    const milliseconds wait = std::min(target_.step_timeout, std::max(milliseconds(300), 4 * rtt));
    arm(wait, Deadline::cancel_read);
    stream_.async_read_some(
        asio::buffer(&byte_, 1),
        [self = shared_from_this()](const error_code& ec, size_t) { self->on_late_read(ec); });
  }

  void on_late_read(const error_code& ec) {
    const bool nothing_came = disarm();
    if (cancelled_) return finish(ProbeFailure::handshake, "");
    if (nothing_came) return after_handshake();
    if (ec && ec.category() == asio::error::get_ssl_category()) return refused(ec);
    if (target_.protocol == Protocol::mqtt)
      return finish(ProbeFailure::exchange, ec ? "closed after the handshake: " + ec.message()
                                               : "the broker spoke before CONNECT");
    after_handshake();  // the server spoke or closed: the handshake stands
  }

  void refused(const error_code& ec) {
    out_.chain.clear();
    finish(ProbeFailure::handshake, ec.message());
  }

  void after_handshake() {
    if (target_.protocol != Protocol::mqtt) return finish(ProbeFailure::none, "");
    connect_packet_ = mqtt_connect_packet("certwatchprobe" + std::to_string(::getpid()));
    arm(target_.step_timeout, Deadline::close);
    asio::async_write(
        stream_, asio::buffer(connect_packet_),
        [self = shared_from_this()](const error_code& ec, size_t) { self->on_connect_sent(ec); });
  }

  // CONNECT and CONNACK share the deadline armed in after_handshake.
  void on_connect_sent(const error_code& ec) {
    if (expired())
      return finish(ProbeFailure::exchange, timed_out("MQTT CONNECT", target_.step_timeout));
    if (ec && ec.category() == asio::error::get_ssl_category()) return refused(ec);
    if (ec) return finish(ProbeFailure::exchange, "MQTT CONNECT: " + ec.message());
    asio::async_read(
        stream_, asio::buffer(connack_),
        [self = shared_from_this()](const error_code& e, size_t) { self->on_connack(e); });
  }

  void on_connack(const error_code& ec) {
    if (disarm())
      return finish(ProbeFailure::exchange, timed_out("waiting for CONNACK", target_.step_timeout));
    if (ec && ec.category() == asio::error::get_ssl_category()) return refused(ec);
    if (ec) return finish(ProbeFailure::exchange, "no CONNACK: " + ec.message());
    if (auto accepted = check_connack(connack_); !accepted)
      return finish(ProbeFailure::exchange, accepted.error().message);
    finish(ProbeFailure::none, "");
  }

  TlsTarget target_;
  std::shared_ptr<ProbeContext> ctx_;
  asio::ssl::stream<tcp::socket> stream_;
  asio::steady_timer timer_;
  asio::ip::address ip_;
  std::function<void(AddressOutcome)> done_;
  AddressOutcome out_;
  SteadyClock::time_point started_;
  SteadyClock::duration connect_time_{};
  bool expired_ = false;
  bool cancelled_ = false;
  std::string cancel_reason_;
  char byte_ = 0;
  std::vector<unsigned char> connect_packet_;
  std::array<unsigned char, kConnackSize> connack_{};
  std::optional<StartTlsDialogue> dialogue_;
  std::string plain_out_;
  std::array<char, 4096> plain_in_{};
};

// The whole probe of a target: resolution, then one AddressProbe per address.
class Probe final : public ProbeHandle, public std::enable_shared_from_this<Probe> {
 public:
  Probe(asio::io_context& io, TlsTarget target, std::shared_ptr<ProbeContext> ctx, ProbeDone done)
      : io_(io),
        target_(std::move(target)),
        ctx_(std::move(ctx)),
        done_(std::move(done)),
        bound_(io) {}

  void start() {
    if (const certwatch::Error* unusable = ctx_->error()) {
      result_.addresses.push_back(failed_before_start("", unusable->message));
      // Posted, not called: `done` never runs inside start_probe.
      asio::post(io_, [self = shared_from_this()] { self->complete(); });
      return;
    }
    std::weak_ptr<Probe> weak = shared_from_this();
    // The safety net behind the steps' own deadlines: whatever a step does, `done` runs by then.
    const auto bound = probe_bound(target_);
    bound_.expires_after(bound);
    bound_.async_wait([weak, bound](const error_code& ec) {
      if (auto self = weak.lock(); self && !ec)
        self->stop("probe timed out after " + std::to_string(bound.count()) +
                   " ms (its bound for all steps)");
    });
    resolve_ = async_resolve(io_, target_.host, target_.step_timeout, [weak](Resolved r) {
      if (auto self = weak.lock()) self->on_resolved(std::move(r));
    });
    // The lookup holds no strong reference: keep the probe alive until it answers.
    self_ = shared_from_this();
  }

  void cancel() override { stop("probe cancelled"); }

 private:
  void stop(const std::string& why) {
    if (cancelled_) return;
    cancelled_ = true;
    cancel_reason_ = why;
    if (resolve_) {
      resolve_->abandon();
      resolve_.reset();
      on_resolved(certwatch::make_error(why, ErrorKind::failed));
      return;
    }
    for (auto& a : probes_)
      if (auto p = a.lock()) p->cancel(why);
  }

  void on_resolved(Resolved r) {
    resolve_.reset();
    auto keep = std::move(self_);  // the address probes' handlers own us from here
    if (!r) {
      result_.resolve_error = "cannot resolve " + target_.host + ": " + r.error().message;
      return complete();
    }
    const std::vector<asio::ip::address>& addresses = *r;
    result_.addresses.resize(addresses.size());
    remaining_ = addresses.size();
    for (size_t i = 0; i < addresses.size(); ++i) {
      auto report = [self = shared_from_this(), i](AddressOutcome o) {
        self->result_.addresses[i] = std::move(o);
        if (--self->remaining_ == 0) self->complete();
      };
      std::shared_ptr<AddressProbe> p;
      try {
        p = std::make_shared<AddressProbe>(io_, target_, ctx_, addresses[i], report);
      } catch (const std::exception& e) {
        // asio::ssl::stream throws when SSL_new fails; this runs in the resolver's handler.
        report(failed_before_start(addresses[i].to_string(), e.what()));
        continue;
      }
      probes_.push_back(p);
      p->start();
      if (cancelled_) p->cancel(cancel_reason_);
    }
  }

  void complete() {
    bound_.cancel();
    auto done = std::move(done_);
    done_ = nullptr;
    if (done) done(std::move(result_));
  }

  asio::io_context& io_;
  TlsTarget target_;
  std::shared_ptr<ProbeContext> ctx_;
  ProbeDone done_;
  std::shared_ptr<PendingResolve> resolve_;
  std::shared_ptr<Probe> self_;
  std::vector<std::weak_ptr<AddressProbe>> probes_;
  TlsProbeResult result_;
  size_t remaining_ = 0;
  bool cancelled_ = false;
  std::string cancel_reason_;
  asio::steady_timer bound_;
};

}  // namespace

milliseconds probe_bound(const TlsTarget& target) {
  // resolve, connect, handshake, the wait for a late TLS 1.3 alert; then the dialogue before
  // the handshake or the exchange after it.
  const int steps = target.protocol == Protocol::tls ? 4 : 5;
  return steps * target.step_timeout;
}

bool is_ip_literal(const std::string& s) {
  error_code ec;
  (void)asio::ip::make_address(s, ec);
  return !ec;
}

std::shared_ptr<ProbeHandle> start_probe(asio::io_context& io, const TlsTarget& target,
                                         std::shared_ptr<ProbeContext> ctx, ProbeDone done) {
  auto probe = std::make_shared<Probe>(io, target, std::move(ctx), std::move(done));
  probe->start();
  return probe;
}

TlsProbeResult probe_tls(const TlsTarget& target, SSL_CTX* native_ctx) {
  asio::io_context io;
  TlsProbeResult result;
  auto handle = start_probe(io, target, std::make_shared<ProbeContext>(native_ctx),
                            [&result](TlsProbeResult r) { result = std::move(r); });
  io.run();
  return result;
}

}  // namespace certwatch::agent::probe
