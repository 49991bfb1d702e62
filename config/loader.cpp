// The schema of the config file: which keys each section has, their types, defaults and the
// checks across sections. The reading mechanics are in config/yaml_reader.cpp.
#include "config/loader.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "base/duration.h"
#include "base/text_escape.h"
#include "config/acme_schema.h"
#include "config/address.h"
#include "config/yaml_reader.h"
#include "pki/load/read_file.h"
#include "pki/verify/clients.h"
#include "pki/x509/dn.h"
#include "pki/x509/keygen.h"

namespace certwatch::config {

// The issuer profiles a managed (leaf) certificate can have (pki::parse_profile names).
constexpr std::array<std::string_view, 2> kLeafProfiles{"server", "client"};
namespace fs = std::filesystem;

namespace {

using Need = YamlReader::Need;

constexpr std::array<std::string_view, 3> kSeverities{"info", "warning", "critical"};
constexpr std::array<std::pair<std::string_view, int>, 6> kSignals{{{"HUP", SIGHUP},
                                                                    {"USR1", SIGUSR1},
                                                                    {"USR2", SIGUSR2},
                                                                    {"TERM", SIGTERM},
                                                                    {"INT", SIGINT},
                                                                    {"QUIT", SIGQUIT}}};

bool is_name(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

// Parses one section or entry; each method reports into `r` and fills what it could.
class Schema {
 public:
  explicit Schema(YamlReader& r) : r_(r) {}

  void agent(const Field& f, AgentConfig& out) {
    const auto m = r_.map(f, {"state_dir", "rescan_interval", "thresholds", "debounce",
                              "probe_concurrency", "renew_retry"});
    if (const auto* v = m.get("state_dir"))
      if (auto p = r_.path(*v, Need::nothing)) out.state_dir = *p;
    if (const auto* v = m.get("rescan_interval"))
      if (auto d = r_.duration(*v, Seconds{1})) out.rescan_interval = *d;
    if (const auto* v = m.get("debounce"))
      if (auto d = r_.duration_ms(*v, Milliseconds{0})) out.debounce = *d;
    if (const auto* v = m.get("probe_concurrency"))
      if (auto n = r_.integer(*v, 1, 10000)) out.probe_concurrency = static_cast<uint32_t>(*n);
    if (const auto* v = m.get("renew_retry"))
      if (auto d = r_.duration(*v, Seconds{1}, Seconds{3600})) out.renew_retry = *d;
    if (const auto* v = m.get("thresholds")) {
      const auto t = r_.map(*v, {"warning", "critical"});
      const Field* w = t.get("warning");
      const Field* c = t.get("critical");
      if (w != nullptr)
        if (auto d = r_.duration(*w, Seconds{1})) out.thresholds.warning_seconds = d->count();
      if (c != nullptr)
        if (auto d = r_.duration(*c, Seconds{1})) out.thresholds.critical_seconds = d->count();
      if (out.thresholds.critical_seconds >= out.thresholds.warning_seconds)
        r_.problem(c != nullptr ? c->mark() : t.mark(),
                   "agent.thresholds: critical must be shorter than warning");
    }
  }

  void http(const Field& f, HttpConfig& out) {
    const auto m = r_.map(f, {"listen", "max_connections", "max_connections_per_client",
                              "request_timeout", "max_header_bytes", "max_body_bytes"});
    if (const auto* v = m.get("listen")) {
      if (auto s = r_.string(*v)) {
        auto addr = parse_listen_address(*s);
        if (addr)
          out.listen = *addr;
        else
          r_.problem(v->mark(), v->where + ": " + addr.error().message);
      }
    }
    if (const auto* v = m.get("max_connections"))
      if (auto n = r_.integer(*v, 1, 100000)) out.max_connections = static_cast<uint32_t>(*n);
    if (const auto* v = m.get("max_connections_per_client"))
      if (auto n = r_.integer(*v, 1, 100000))
        out.max_connections_per_client = static_cast<uint32_t>(*n);
    if (const auto* v = m.get("request_timeout"))
      if (auto d = r_.duration(*v, Seconds{1})) out.request_timeout = *d;
    if (const auto* v = m.get("max_header_bytes"))
      if (auto n = r_.integer(*v, 1024, 1 << 20)) out.max_header_bytes = static_cast<uint32_t>(*n);
    if (const auto* v = m.get("max_body_bytes"))
      if (auto n = r_.integer(*v, 0, 1 << 24)) out.max_body_bytes = static_cast<uint32_t>(*n);
  }

  void watch(const Field& f, WatchEntry& out) {
    const auto m =
        r_.map(f, {"path", "recursive", "trust", "host", "purpose", "key", "exclude", "clients"});
    if (const auto* v = m.required("path"))
      if (auto p = r_.path(*v, Need::nothing)) out.path = *p;
    if (const auto* v = m.get("recursive"))
      if (auto b = r_.boolean(*v)) out.recursive = *b;
    if (const auto* v = m.get("trust")) out.trust = r_.paths(*v, Need::file_or_directory);
    if (const auto* v = m.get("host")) out.host = host_name(*v);
    if (const auto* v = m.get("purpose"))
      if (auto i = r_.choice(*v, pki::kPurposeNames))
        out.purpose = *pki::parse_purpose(pki::kPurposeNames[*i]);
    if (const auto* v = m.get("key")) out.key = r_.path(*v, Need::nothing);
    if (const auto* v = m.get("exclude"))
      if (auto globs = r_.strings(*v)) out.exclude = *globs;
    if (const auto* v = m.get("clients")) out.clients = clients(*v);
  }

  // A list of client families (pki/verify/clients.h), each checked where it stands; duplicates are
  // kept once.
  std::vector<std::string> clients(const Field& f) {
    std::vector<std::string> out;
    for (const Field& item : r_.list(f)) {
      auto i = r_.choice(item, pki::client_families());
      if (!i) continue;
      std::string name(pki::client_families()[*i]);
      if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(std::move(name));
    }
    return out;
  }

  void endpoint(const Field& f, EndpointEntry& out) {
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

  void mqtt(const Field& f, MqttConfig& out) {
    const auto m = r_.map(f, {"broker", "client_id", "topic_prefix", "ca", "cert", "key",
                              "username", "password_file", "qos", "keepalive", "hold", "renotify",
                              "min_severity", "buffer_limit", "home_assistant"});
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
  }

  void issuer(const Field& f, IssuerEntry& out) {
    const auto m = r_.map(f, {"name", "pki_dir", "ca", "passphrase_file", "acme"});
    if (const auto* v = m.required("name")) out.name = entry_name(*v);
    if (const Field* acme = m.get("acme")) {
      for (std::string_view key : {"pki_dir", "ca", "passphrase_file"})
        if (const auto* v = m.get(key))
          r_.problem(v->key_mark, v->where + ": an ACME issuer has no " + std::string(key) +
                                      " (give either acme: or pki_dir, not both)");
      out.acme = read_acme(r_, *acme);
      return;
    }
    if (m.is_map() && m.get("pki_dir") == nullptr) {
      r_.problem(m.mark(),
                 m.where() + ": give pki_dir (a certwatch PKI directory) or acme: (an ACME CA)");
      return;
    }
    if (const auto* v = m.required("pki_dir"))
      if (auto p = r_.path(*v, Need::directory)) out.pki_dir = *p;
    out.ca = out.name;
    if (const auto* v = m.get("ca")) out.ca = entry_name(*v);
    if (const auto* v = m.get("passphrase_file")) out.passphrase_file = r_.path(*v, Need::file);
  }

  void managed(const Field& f, ManagedEntry& out) {
    const auto m = r_.map(
        f, {"name", "issuer", "profile", "subject", "sans", "key_type", "validity", "renew_before",
            "cert", "key", "chain", "owner", "group", "mode", "reload", "verify_endpoint"});
    if (const auto* v = m.required("name")) out.name = entry_name(*v);
    if (const auto* v = m.required("issuer")) out.issuer = entry_name(*v);
    if (const auto* v = m.get("profile"))
      if (auto i = r_.choice(*v, kLeafProfiles))
        out.profile = *pki::parse_profile(kLeafProfiles[*i]);
    if (const auto* v = m.required("subject"))
      if (auto s = r_.string(*v)) {
        // The issuer's own parser: a subject that loads is one it can encode.
        if (auto dn = pki::parse_dn(*s); !dn)
          r_.problem(v->mark(), v->where + ": bad subject '" + *s + "': " + dn.error().message);
        else if (auto name = pki::to_x509_name(*dn); !name)
          r_.problem(v->mark(), v->where + ": bad subject '" + *s + "': " + name.error().message);
        else
          out.subject = *s;
      }
    if (const auto* v = m.get("sans"))
      for (const auto& element : r_.list(*v)) {
        auto text = r_.string(element);
        if (!text) continue;
        auto san = pki::parse_san(*text);
        if (san)
          out.sans.push_back(*san);
        else
          r_.problem(element.mark(), element.where + ": bad " + san.error().message);
      }
    if (const auto* v = m.get("key_type"))
      if (auto i = r_.choice(*v, pki::key_type_names()))
        out.key_type = *pki::parse_key_type(pki::key_type_names()[*i]);
    if (const auto* v = m.get("validity"))
      if (auto d = r_.duration(*v, Seconds{60}))
        out.validity = *d;  // short-lived leaves are a practice
    if (const auto* v = m.get("renew_before")) {
      out.renew_before = r_.duration(*v, Seconds{10});
      if (out.renew_before && *out.renew_before >= out.validity)
        r_.problem(v->mark(), v->where + ": must be shorter than validity (" +
                                  certwatch::format_duration(out.validity.count()) +
                                  "), or renewal loops");
    }
    if (const auto* v = m.required("cert"))
      if (auto p = r_.path(*v, Need::nothing)) out.cert = *p;
    if (const auto* v = m.required("key"))
      if (auto p = r_.path(*v, Need::nothing)) out.key = *p;
    if (const auto* v = m.get("chain")) out.chain = r_.path(*v, Need::nothing);
    if (const auto* v = m.get("owner")) out.owner = account(*v);
    if (const auto* v = m.get("group")) out.group = account(*v);
    if (const auto* v = m.get("mode"))
      if (auto mode = file_mode(*v)) out.mode = *mode;
    if (const auto* v = m.get("reload")) reload(*v, out.reload);
    if (const auto* v = m.get("verify_endpoint")) out.verify_endpoint = host_port(*v);
  }

  void severities(const Field& f, std::map<std::string, pki::Severity>& out) {
    if (f.value.IsDefined() && !f.value.IsNull() && !f.value.IsMap()) {
      r_.map(f, {});  // reports the wrong type
      return;
    }
    std::vector<std::string_view> ids;
    for (const auto& kind : pki::catalogue()) ids.push_back(kind.id);
    for (const auto& kv : f.value) {
      const std::string id = kv.first.IsScalar() ? kv.first.Scalar() : "";
      const Field value{"severities." + id, kv.second, kv.first.Mark()};
      if (pki::find_kind(id) == nullptr) {
        std::string msg = "severities: unknown finding id '" + id + "'";
        if (auto best = closest_match(id, ids); !best.empty())
          msg += " (did you mean '" + best + "'?)";
        r_.problem(kv.first.Mark(), msg);
        continue;
      }
      if (out.count(id) != 0) {
        r_.problem(kv.first.Mark(), "duplicate key '" + id + "' in severities");
        continue;
      }
      if (auto i = r_.choice(value, kSeverities))
        out[id] = *pki::severity_from_string(kSeverities[*i]);
    }
  }

 private:
  void reload(const Field& f, Reload& out) {
    const auto m = r_.map(f, {"signal", "pid_file", "command", "systemd_unit"});
    const bool by_signal = m.get("signal") != nullptr || m.get("pid_file") != nullptr;
    const int kinds =
        int{by_signal} + int{m.get("command") != nullptr} + int{m.get("systemd_unit") != nullptr};
    if (m.is_map() && kinds != 1) {
      r_.problem(m.mark(), m.where() +
                               ": give exactly one of {signal, pid_file}, {command: [argv]} or "
                               "{systemd_unit: NAME}");
      return;
    }
    if (by_signal) {
      out.kind = Reload::Kind::signal;
      if (const auto* v = m.get("signal")) {
        std::array<std::string_view, kSignals.size()> names{};
        for (size_t i = 0; i < kSignals.size(); ++i) names[i] = kSignals[i].first;
        // "SIGHUP" and "HUP" alike: read a copy without the prefix, placed at the value.
        const bool prefixed = v->value.IsScalar() && v->value.Scalar().starts_with("SIG");
        const Field bare{v->where, prefixed ? YAML::Node(v->value.Scalar().substr(3)) : v->value,
                         v->mark()};
        if (auto i = r_.choice(bare, names)) out.signal.signal = kSignals[*i].second;
      }
      if (const auto* v = m.required("pid_file"))
        if (auto p = r_.path(*v, Need::nothing)) out.signal.pid_file = *p;
    } else if (const auto* v = m.get("command")) {
      out.kind = Reload::Kind::command;
      if (auto argv = r_.strings(*v)) {
        if (argv->empty()) r_.problem(v->mark(), v->where + ": needs at least the program to run");
        out.command.argv = *argv;
      }
    } else if (const auto* v = m.get("systemd_unit")) {
      out.kind = Reload::Kind::systemd;
      if (auto unit =
              checked(*v, service_name_ok, "unit name", "NAME.service (e.g. mosquitto.service)"))
        out.systemd.unit = *unit;
    }
  }

  template <class T>
  void both_or_neither(const MapFields& m, std::string_view a, std::string_view b,
                       std::optional<T>& out_a, std::optional<T>& out_b) {
    const Field* fa = m.get(a);
    const Field* fb = m.get(b);
    if (fa != nullptr) out_a = r_.path(*fa, Need::file);
    if (fb != nullptr) out_b = r_.path(*fb, Need::file);
    if ((fa == nullptr) != (fb == nullptr))
      r_.problem((fa != nullptr ? fa : fb)->key_mark, m.where() + ": " + std::string(a) + " and " +
                                                          std::string(b) +
                                                          " go together: give both or neither");
  }

  std::optional<HostPort> host_port(const Field& f) {
    auto s = r_.string(f);
    if (!s) return std::nullopt;
    auto hp = parse_host_port(*s);
    if (hp) return *hp;
    r_.problem(f.mark(), f.where + ": " + hp.error().message);
    return std::nullopt;
  }

  std::optional<std::string> host_name(const Field& f) {
    auto s = r_.string(f);
    if (!s) return std::nullopt;
    if (pki::normalize_ip(*s)) return s;
    auto dns = pki::check_dns_name(*s);
    if (dns) return s;
    r_.problem(f.mark(), f.where + ": '" + *s + "' is neither a DNS name nor an IP address (" +
                             dns.error().message + ")");
    return std::nullopt;
  }

  std::string entry_name(const Field& f) {
    auto s = r_.string(f);
    if (!s) return {};
    if (!is_name(*s)) {
      r_.problem(f.mark(), f.where + ": bad name '" + *s + "': use letters, digits, '-', '_', '.'");
      return {};
    }
    return *s;
  }

  std::optional<std::string> account(const Field& f) {
    auto s = r_.string(f);
    if (s && !is_name(*s)) {
      r_.problem(f.mark(), f.where + ": bad user or group '" + *s + "'");
      return std::nullopt;
    }
    return s;
  }

  std::optional<uint32_t> file_mode(const Field& f) {
    auto s = r_.string(f);
    if (!s) return std::nullopt;
    const bool ok = (s->size() == 3 || (s->size() == 4 && s->front() == '0')) &&
                    std::all_of(s->begin(), s->end(), [](char c) { return c >= '0' && c <= '7'; });
    if (!ok) {
      r_.problem(f.mark(),
                 f.where + ": bad mode '" + *s + "': expected an octal string like \"0640\"");
      return std::nullopt;
    }
    return static_cast<uint32_t>(std::stoul(*s, nullptr, 8));
  }

  // A non-empty string that passes `ok`, else "bad WHAT 'value': expected EXPECTED".
  std::optional<std::string> checked(const Field& f, bool (*ok)(std::string_view),
                                     std::string_view what, std::string_view expected) {
    auto s = r_.string(f);
    if (!s || ok(*s)) return s;
    r_.problem(f.mark(), f.where + ": bad " + std::string(what) + " '" + *s + "': expected " +
                             std::string(expected));
    return std::nullopt;
  }

  static bool service_name_ok(std::string_view s) {
    return is_name(s) && s.ends_with(".service") && s.size() > 8;
  }

  static bool broker_url_ok(std::string_view url) {
    for (std::string_view scheme : {"mqtt://", "mqtts://", "tcp://", "ssl://", "ws://", "wss://"})
      if (url.starts_with(scheme) && url.size() > scheme.size() && url[scheme.size()] != ':' &&
          url[scheme.size()] != '/')
        return true;
    return false;
  }

  YamlReader& r_;
};

// An endpoint's target names its inventory targets and metric series: one entry per target.
void check_unique_endpoints(YamlReader& r, const Config& c, const std::vector<Field>& fields) {
  std::map<std::string, size_t> first;
  for (size_t i = 0; i < c.endpoints.size(); ++i) {
    if (c.endpoints[i].target.host.empty()) continue;
    const std::string t = c.endpoints[i].target.to_string();
    auto [it, inserted] = first.emplace(t, i);
    if (inserted) continue;
    const Field& f = fields[i];
    const YAML::Mark mark = f.value.IsMap() && f.value["target"]
                                ? Field{"", f.value["target"], f.key_mark}.mark()
                                : f.key_mark;
    r.problem(mark, f.where + ".target: duplicate endpoint " + t + " (also " +
                        fields[it->second].where + ")");
  }
}

// Checks across entries: unique watch paths and names, issuer references, something to do.
void cross_check(YamlReader& r, const Config& c, const std::vector<Field>& watch_fields,
                 const std::vector<Field>& issuer_fields,
                 const std::vector<Field>& managed_fields) {
  auto field_mark = [](const Field& f, std::string_view key) {
    return f.value.IsMap() && f.value[std::string(key)]
               ? Field{"", f.value[std::string(key)], f.key_mark}.mark()
               : f.key_mark;
  };
  // First occurrence of each path and name, in ordered sets: O(n log n) for 40k entries.
  std::map<fs::path, size_t> first_watch;
  for (size_t i = 0; i < c.watch.size(); ++i) {
    if (c.watch[i].path.empty()) continue;
    auto [it, inserted] = first_watch.emplace(c.watch[i].path, i);
    if (!inserted)
      r.problem(field_mark(watch_fields[i], "path"),
                watch_fields[i].where + ".path: duplicate watch path " + c.watch[i].path.string() +
                    " (also " + watch_fields[it->second].where + ")");
  }
  std::vector<std::string_view> issuer_names;
  std::set<std::string_view> issuer_set;
  for (size_t i = 0; i < c.issuers.size(); ++i) {
    const auto& name = c.issuers[i].name;
    if (!name.empty() && !issuer_set.insert(name).second)
      r.problem(field_mark(issuer_fields[i], "name"),
                issuer_fields[i].where + ".name: duplicate issuer name '" + name + "'");
    issuer_names.push_back(name);
  }
  std::set<std::string_view> managed_names;
  for (size_t i = 0; i < c.managed.size(); ++i) {
    const auto& e = c.managed[i];
    if (!e.name.empty() && !managed_names.insert(e.name).second)
      r.problem(field_mark(managed_fields[i], "name"),
                managed_fields[i].where + ".name: duplicate managed name '" + e.name + "'");
    if (!e.issuer.empty() && issuer_set.count(e.issuer) == 0) {
      std::string msg = managed_fields[i].where + ".issuer: no issuer named '" + e.issuer + "'";
      if (auto best = closest_match(e.issuer, issuer_names); !best.empty())
        msg += " (did you mean '" + best + "'?)";
      else if (issuer_names.empty())
        msg += " (the issuers section is empty)";
      r.problem(field_mark(managed_fields[i], "issuer"), msg);
    }
  }
}

LoadReport load_tree(YamlReader& r, const YAML::Node& root, const fs::path& source);

// Records, per document, where it starts and where its first node is, without building nodes.
class DocumentStarts final : public YAML::EventHandler {
 public:
  struct Document {
    YAML::Mark start;
    std::optional<YAML::Mark> first_node;
  };
  std::vector<Document> docs;
  void OnDocumentStart(const YAML::Mark& mark) override { docs.push_back({mark, std::nullopt}); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t) override { node(m); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { node(m); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                const std::string&) override {
    node(m);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    node(m);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    node(m);
  }
  void OnMapEnd() override {}

 private:
  void node(const YAML::Mark& m) {
    if (!docs.empty() && !docs.back().first_node) docs.back().first_node = m;
  }
};

struct ExtraDocument {
  YAML::Mark mark;     // the second document's first node (or its start)
  bool stuck = false;  // the parser did not move: `mark` is a token it cannot start a node with
};

// Where a second document is, if there is one. Reads at most three documents.
std::optional<ExtraDocument> extra_document(std::string_view text) {
  std::istringstream in{std::string(text)};
  YAML::Parser parser(in);
  DocumentStarts starts;
  for (int i = 0; i < 3 && parser.HandleNextDocument(starts); ++i) {
  }
  const auto& d = starts.docs;
  if (d.size() < 2) return std::nullopt;
  if (d[1].start.pos == d[0].start.pos || (d.size() > 2 && d[2].start.pos == d[1].start.pos))
    return ExtraDocument{d[1].start, true};
  return ExtraDocument{d[1].first_node.value_or(d[1].start), false};
}

LoadReport load_text(std::string_view text, const std::string& name, const fs::path& base_dir,
                     const fs::path& source, LoadOptions options) {
  YamlReader r(name, base_dir, options);
  LoadReport report;
  YAML::Node root;
  // YAML is printable Unicode text. Bytes that are not (a NUL, which yaml-cpp reports at a
  // wrong position; anything not UTF-8; control characters) are named at their own position
  // before yaml-cpp sees them.
  auto refuse_at = [&](std::size_t at, std::string what) {
    const auto before = text.substr(0, at);
    const auto line_start = before.rfind('\n');
    const int line = 1 + static_cast<int>(std::count(before.begin(), before.end(), '\n'));
    const int column =
        1 + static_cast<int>(line_start == std::string_view::npos ? at : at - line_start - 1);
    report.problems.push_back(Problem{name, line, column, std::move(what)});
    return report;
  };
  if (const auto nul = text.find('\0'); nul != std::string_view::npos)
    return refuse_at(nul, "a NUL byte: the config must be text");
  // YAML 1.2's c-printable: tab, LF, CR, U+0020-U+007E, U+0085 and up; no other C0 control,
  // no DEL, no C1 control.
  auto hex = [](unsigned value) {
    char out[16];
    std::snprintf(out, sizeof out, "0x%02X", value);
    return std::string(out);
  };
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = certwatch::utf8_sequence_length(text, i);
    const auto b0 = static_cast<unsigned char>(text[i]);
    if (n == 0)
      return refuse_at(i, "byte " + hex(b0) + " is not UTF-8: the config must be UTF-8 text");
    const bool c0_or_del =
        n == 1 && ((b0 < 0x20 && b0 != '\t' && b0 != '\n' && b0 != '\r') || b0 == 0x7F);
    const auto b1 = n == 2 ? static_cast<unsigned char>(text[i + 1]) : 0;
    const bool c1 = n == 2 && b0 == 0xC2 && b1 >= 0x80 && b1 <= 0x9F && b1 != 0x85;
    if (c0_or_del || c1)
      return refuse_at(i,
                       "control character " + hex(c1 ? b1 : b0) +
                           ": the config must be printable text (YAML allows tab, CR and LF only)");
    i += n;
  }
  try {
    root = YAML::Load(std::string(text));
    // A second document (a stray "---") is an error rather than ignored. Not YAML::LoadAll:
    // yaml-cpp 0.7's parser makes no progress on a flow indicator where a block node should
    // start (", a" at the top, or after "- a"), and LoadAll then collects empty documents
    // until memory runs out (found by config_fuzz). At most three document starts are read
    // here, and one that starts where the previous one did is that stuck token.
    if (const auto extra = extra_document(text)) {
      const auto at = static_cast<std::size_t>(extra->mark.pos);
      if (extra->stuck)
        r.problem(extra->mark, std::string("YAML syntax error: unexpected '") +
                                   (at < text.size() ? text[at] : '?') +
                                   "' (a flow indicator outside [ ] or { })");
      else
        r.problem(extra->mark, "a second YAML document: the config is one document (remove '---')");
    }
  } catch (const YAML::DeepRecursion& e) {  // its message is "bad file"
    r.problem(e.mark,
              "YAML nested too deeply (more than " + std::to_string(e.depth() - 1) + " levels)");
    report.problems = r.take_problems();
    return report;
  } catch (const YAML::Exception& e) {
    r.problem(e.mark, "YAML syntax error: " + e.msg);
    report.problems = r.take_problems();
    return report;
  }
  try {
    return load_tree(r, root, source);
  } catch (const YAML::Exception& e) {  // not expected from the reads above; never escapes
    r.problem(e.mark, std::string("YAML error: ") + e.what());
    report.problems = r.take_problems();
    return report;
  }
}

LoadReport load_tree(YamlReader& r, const YAML::Node& root, const fs::path& source) {
  LoadReport report;
  Config c;
  c.source = source;
  Schema schema(r);
  const Field top{"", root, YAML::Mark{}};
  const auto m = r.map(top, {"agent", "http", "trust", "watch", "endpoints", "mqtt", "issuers",
                             "managed", "severities"});
  if (const auto* v = m.get("agent")) schema.agent(*v, c.agent);
  if (const auto* v = m.get("http")) schema.http(*v, c.http);
  if (const auto* v = m.get("trust"))
    if (auto p = r.paths(*v, Need::file_or_directory)) c.trust = *p;
  std::vector<Field> watch_fields, issuer_fields, managed_fields;
  if (const auto* v = m.get("watch")) watch_fields = r.list(*v);
  for (const auto& f : watch_fields) schema.watch(f, c.watch.emplace_back());
  std::vector<Field> endpoint_fields;
  if (const auto* v = m.get("endpoints")) endpoint_fields = r.list(*v);
  for (const auto& f : endpoint_fields) schema.endpoint(f, c.endpoints.emplace_back());
  if (const auto* v = m.get("mqtt")) schema.mqtt(*v, c.mqtt.emplace());
  if (const auto* v = m.get("issuers")) issuer_fields = r.list(*v);
  for (const auto& f : issuer_fields) schema.issuer(f, c.issuers.emplace_back());
  if (const auto* v = m.get("managed")) managed_fields = r.list(*v);
  for (const auto& f : managed_fields) schema.managed(f, c.managed.emplace_back());
  if (const auto* v = m.get("severities")) schema.severities(*v, c.severities);
  cross_check(r, c, watch_fields, issuer_fields, managed_fields);
  check_unique_endpoints(r, c, endpoint_fields);
  // Only when the file is otherwise clean: a broken watch section is reason enough.
  if (m.is_map() && !r.has_problems() && c.watch.empty() && c.endpoints.empty() &&
      c.managed.empty())
    r.problem(YAML::Mark{}, "nothing to do: give at least one of watch, endpoints or managed");

  report.problems = r.take_problems();
  if (report.problems.empty()) report.config = std::move(c);
  return report;
}

certwatch::Result<Config> to_result(LoadReport report) {
  if (report.config) return std::move(*report.config);
  std::string message;
  for (const auto& p : report.problems) {
    if (!message.empty()) message += '\n';
    message += p.to_string();
  }
  return certwatch::make_error(std::move(message));
}

}  // namespace

std::string Problem::to_string() const {
  if (line == 0) return file + ": " + message;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

LoadReport check_config(const fs::path& path, LoadOptions options) {
  std::error_code ec;
  // Non-blocking, regular files only, capped: /dev/zero or a FIFO is refused at once.
  auto text = fs::is_directory(path, ec) ? certwatch::Result<std::string>(certwatch::make_error(""))
                                         : pki::read_regular_file(path, pki::kMaxConfigBytes);
  if (!text) {
    const std::string why =
        fs::is_directory(path, ec) ? "is a directory"
        : !fs::exists(path, ec)
            ? "does not exist"
            : "cannot be read: " + text.error().message.substr(path.string().size() + 2);
    LoadReport report;
    report.problems.push_back(Problem{path.string(), 0, 0, "config file " + why});
    return report;
  }
  const fs::path absolute = fs::absolute(path, ec).lexically_normal();
  return load_text(*text, path.string(), absolute.parent_path(), absolute, options);
}

certwatch::Result<Config> load_config(const fs::path& path, LoadOptions options) {
  return to_result(check_config(path, options));
}

certwatch::Result<Config> load_config_string(std::string_view text, std::string_view name,
                                             const fs::path& base_dir, LoadOptions options) {
  std::error_code ec;
  const fs::path base = base_dir.empty() ? fs::current_path(ec) : fs::absolute(base_dir, ec);
  return to_result(
      load_text(text, std::string(name), base.lexically_normal(), fs::path(name), options));
}

}  // namespace certwatch::config
