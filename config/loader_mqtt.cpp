// The `mqtt:` section of the config: the broker the alerts are published to.
#include <array>
#include <string>
#include <string_view>

#include "config/loader_sections.h"

namespace certwatch::config::sections {

namespace {

// `mqtt.protocol`, in MqttProtocol's order.
constexpr std::array<std::string_view, 2> kProtocols{"5", "3.1.1"};

bool broker_url_ok(std::string_view url) {
  for (std::string_view scheme : {"mqtt://", "mqtts://", "tcp://", "ssl://", "ws://", "wss://"})
    if (url.starts_with(scheme) && url.size() > scheme.size() && url[scheme.size()] != ':' &&
        url[scheme.size()] != '/')
      return true;
  return false;
}

}  // namespace

void Schema::mqtt(const Field& f, MqttConfig& out) {
  const auto m =
      r_.map(f, {"broker", "client_id", "topic_prefix", "ca", "cert", "key", "username",
                 "password_file", "qos", "protocol", "keepalive", "hold", "renotify",
                 "min_severity", "buffer_limit", "home_assistant", "quiet_managed_expiry"});
  if (const auto* v = m.required("broker"))
    if (auto s = checked(*v, broker_url_ok, "broker URL",
                         "mqtt://, mqtts://, tcp://, ssl://, ws:// or wss:// and a host "
                         "(e.g. mqtts://127.0.0.1:8883)"))
      out.broker = *s;
  if (const auto* v = m.get("client_id"))
    if (auto s = r_.string(*v)) out.client_id = *s;
  if (const auto* v = m.get("topic_prefix"))
    if (auto s = r_.string(*v)) {
      if (s->find_first_of("+#") != std::string::npos || s->front() == '/' || s->back() == '/' ||
          s->find("//") != std::string::npos || s->find('\0') != std::string::npos)
        r_.problem(v->mark(), v->where +
                                  ": a topic prefix has no wildcards (+ #), no empty level and "
                                  "no leading or trailing '/'");
      else
        out.topic_prefix = *s;
    }
  if (const auto* v = m.get("ca")) out.ca = r_.path(*v, Need::file_or_directory);
  both_or_neither(m, "cert", "key", out.cert, out.key);
  if (const auto* v = m.get("username")) out.username = r_.string(*v);
  if (const auto* v = m.get("password_file")) out.password_file = r_.path(*v, Need::file);
  if (const auto* v = m.get("qos"))
    if (auto n = r_.integer(*v, 0, 2)) out.qos = static_cast<int>(*n);
  if (const auto* v = m.get("protocol"))
    if (auto i = r_.choice(*v, kProtocols))
      out.protocol = *i == 0 ? MqttProtocol::v5 : MqttProtocol::v3_1_1;
  if (const auto* v = m.get("keepalive"))
    if (auto d = r_.duration(*v, Seconds{1})) out.keepalive = *d;
  if (const auto* v = m.get("hold"))
    if (auto d = r_.duration(*v, Seconds{0})) out.hold = *d;
  if (const auto* v = m.get("renotify"))
    if (auto d = r_.duration(*v, Seconds{0})) {
      if (d->count() != 0 && *d < Seconds{60})
        r_.problem(v->mark(), v->where + ": must be 0 (no reminders) or at least 1m");
      else
        out.renotify = *d;
    }
  if (const auto* v = m.get("min_severity"))
    if (auto i = r_.choice(*v, kSeverities))
      out.min_severity = *pki::severity_from_string(kSeverities[*i]);
  if (const auto* v = m.get("buffer_limit"))
    if (auto n = r_.integer(*v, 1, 1000000)) out.buffer_limit = static_cast<uint32_t>(*n);
  if (const auto* v = m.get("home_assistant"))
    if (auto b = r_.boolean(*v)) out.home_assistant = *b;
  if (const auto* v = m.get("quiet_managed_expiry"))
    if (auto b = r_.boolean(*v)) out.quiet_managed_expiry = *b;
}

}  // namespace certwatch::config::sections
