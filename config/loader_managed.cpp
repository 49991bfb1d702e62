// The `managed:` entries of the config: certificates the agent issues, deploys, reloads and
// renews.
#include <algorithm>
#include <array>
#include <csignal>
#include <string>

#include "base/duration.h"
#include "config/loader_sections.h"
#include "pki/x509/dn.h"
#include "pki/x509/keygen.h"

namespace certwatch::config::sections {

namespace {

// The issuer profiles a managed (leaf) certificate can have (pki::parse_profile names).
constexpr std::array<std::string_view, 2> kLeafProfiles{"server", "client"};
constexpr std::array<std::pair<std::string_view, int>, 6> kSignals{{{"HUP", SIGHUP},
                                                                    {"USR1", SIGUSR1},
                                                                    {"USR2", SIGUSR2},
                                                                    {"TERM", SIGTERM},
                                                                    {"INT", SIGINT},
                                                                    {"QUIT", SIGQUIT}}};

bool service_name_ok(std::string_view s) {
  return is_name(s) && s.ends_with(".service") && s.size() > 8;
}

}  // namespace

void Schema::managed(const Field& f, ManagedEntry& out) {
  const auto m = r_.map(
      f, {"name", "issuer", "profile", "subject", "sans", "key_type", "validity", "renew_before",
          "cert", "key", "chain", "owner", "group", "mode", "reload", "verify_endpoint"});
  if (const auto* v = m.required("name")) out.name = entry_name(*v);
  if (const auto* v = m.required("issuer")) out.issuer = entry_name(*v);
  if (const auto* v = m.get("profile"))
    if (auto i = r_.choice(*v, kLeafProfiles)) out.profile = *pki::parse_profile(kLeafProfiles[*i]);
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

void Schema::reload(const Field& f, Reload& out) {
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

std::optional<std::string> Schema::account(const Field& f) {
  auto s = r_.string(f);
  if (s && !is_name(*s)) {
    r_.problem(f.mark(), f.where + ": bad user or group '" + *s + "'");
    return std::nullopt;
  }
  return s;
}

std::optional<uint32_t> Schema::file_mode(const Field& f) {
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

}  // namespace certwatch::config::sections
