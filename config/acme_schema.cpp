#include "config/acme_schema.h"

#include <algorithm>
#include <array>
#include <span>

#include "config/address.h"
#include "pki/x509/keygen.h"

namespace certwatch::config {
namespace {

using Need = YamlReader::Need;

// RFC 8555 6.1: the directory (and everything after it) is reached over HTTPS only.
bool https_url_ok(std::string_view s) {
  constexpr std::string_view scheme = "https://";
  if (!s.starts_with(scheme) || s.size() == scheme.size()) return false;
  const char first = s[scheme.size()];
  return first != '/' && first != ':' && s.find_first_of(" \t\r\n") == std::string_view::npos;
}

bool mailto_ok(std::string_view s) {
  constexpr std::string_view scheme = "mailto:";
  const auto at = s.find('@');
  return s.starts_with(scheme) && at != std::string_view::npos && at > scheme.size() &&
         at + 1 < s.size() && s.find_first_of(" ,\t\r\n") == std::string_view::npos;
}

// Account keys the client can sign with (ES256, RS256), named as pki/x509/keygen.h names them.
constexpr std::array<std::string_view, 4> kAccountKeyTypes{"ec-p256", "rsa-2048", "rsa-3072",
                                                           "rsa-4096"};
constexpr std::array<std::string_view, 2> kChallengeTypes{"http-01", "dns-01"};

// An argv for a dns-01 hook: non-empty, and every "{...}" in it is a known placeholder.
std::vector<std::string> hook_argv(YamlReader& r, const Field& f) {
  auto argv = r.strings(f);
  if (!argv) return {};
  if (argv->empty()) r.problem(f.mark(), f.where + ": needs at least the program to run");
  for (const auto& arg : *argv)
    for (size_t open = arg.find('{'); open != std::string::npos; open = arg.find('{', open + 1)) {
      const auto close = arg.find('}', open);
      const std::string word =
          arg.substr(open, close == std::string::npos ? std::string::npos : close - open + 1);
      if (std::find(kAcmeHookPlaceholders.begin(), kAcmeHookPlaceholders.end(), word) ==
          kAcmeHookPlaceholders.end())
        r.problem(f.mark(), f.where + ": unknown placeholder '" + word +
                                "' (known: {name}, {value}, {identifier})");
    }
  return *argv;
}

void read_challenge(YamlReader& r, const Field& f, AcmeChallenge& out) {
  const auto m =
      r.map(f, {"type", "listen", "webroot", "set", "clear", "propagation", "hook_timeout"});
  const Field* type = m.required("type");
  if (type == nullptr) return;
  auto i = r.choice(*type, kChallengeTypes);
  if (!i) return;
  out.type = *i == 0 ? AcmeChallenge::Type::http01 : AcmeChallenge::Type::dns01;
  // Keys of the other type are mistakes, reported where they stand.
  const std::array<std::string_view, 4> not_for_http{"set", "clear", "propagation", "hook_timeout"};
  const std::array<std::string_view, 2> not_for_dns{"listen", "webroot"};
  const auto refuse = [&](std::span<const std::string_view> keys) {
    for (auto key : keys)
      if (const auto* v = m.get(key))
        r.problem(v->key_mark,
                  v->where + ": not a key of a " + std::string(kChallengeTypes[*i]) + " challenge");
  };
  if (out.type == AcmeChallenge::Type::http01) {
    refuse(not_for_http);
    const Field* listen = m.get("listen");
    const Field* webroot = m.get("webroot");
    if ((listen == nullptr) == (webroot == nullptr)) {
      r.problem(m.mark(), m.where() +
                              ": an http-01 challenge needs exactly one of listen: \"ADDR:PORT\" "
                              "(the agent answers) or webroot: DIR (a web server serves the file)");
      return;
    }
    if (listen != nullptr)
      if (auto s = r.string(*listen)) {
        auto addr = parse_listen_address(*s);
        if (addr)
          out.listen = *addr;
        else
          r.problem(listen->mark(), listen->where + ": " + addr.error().message);
      }
    if (webroot != nullptr) out.webroot = r.path(*webroot, Need::nothing);  // created when missing
    return;
  }
  refuse(not_for_dns);
  if (const auto* v = m.required("set")) out.set = hook_argv(r, *v);
  if (const auto* v = m.required("clear")) out.clear = hook_argv(r, *v);
  if (const auto* v = m.get("propagation"))
    if (auto d = r.duration(*v, Seconds{0})) out.propagation = *d;
  if (const auto* v = m.get("hook_timeout"))
    if (auto d = r.duration(*v, Seconds{1}, Seconds{600})) out.hook_timeout = *d;
}

}  // namespace

std::optional<AcmeIssuer> read_acme(YamlReader& r, const Field& f) {
  AcmeIssuer out;
  const auto m = r.map(f, {"directory", "contact", "trust", "chain_trust", "eab",
                           "account_key_type", "request_timeout", "order_timeout", "challenge"});
  if (const auto* v = m.required("directory"))
    if (auto s = r.string(*v)) {
      if (https_url_ok(*s))
        out.directory = *s;
      else
        r.problem(v->mark(),
                  v->where + ": bad directory URL '" + *s + "': expected https://HOST[:PORT]/PATH");
    }
  if (const auto* v = m.get("contact"))
    for (const auto& item : r.list(*v))
      if (auto s = r.string(item)) {
        if (mailto_ok(*s))
          out.contact.push_back(*s);
        else
          r.problem(item.mark(),
                    item.where + ": bad contact '" + *s + "': expected mailto:NAME@DOMAIN");
      }
  if (const auto* v = m.get("trust"))
    if (auto p = r.paths(*v, Need::file_or_directory)) out.trust = *p;
  if (const auto* v = m.get("chain_trust"))
    if (auto p = r.paths(*v, Need::file_or_directory)) out.chain_trust = *p;
  if (const auto* v = m.get("eab")) {
    const auto e = r.map(*v, {"key_id", "hmac_key_file"});
    AcmeEab eab;
    if (const auto* k = e.required("key_id"))
      if (auto s = r.string(*k)) eab.key_id = *s;
    if (const auto* k = e.required("hmac_key_file"))
      if (auto p = r.path(*k, Need::file)) eab.hmac_key_file = *p;
    out.eab = eab;
  }
  if (const auto* v = m.get("account_key_type"))
    if (auto i = r.choice(*v, kAccountKeyTypes))
      out.account_key_type = *pki::parse_key_type(kAccountKeyTypes[*i]);
  if (const auto* v = m.get("request_timeout"))
    if (auto d = r.duration(*v, Seconds{1})) out.request_timeout = *d;
  if (const auto* v = m.get("order_timeout"))
    if (auto d = r.duration(*v, Seconds{10})) out.order_timeout = *d;
  if (out.request_timeout >= out.order_timeout)
    r.problem(m.mark(), m.where() + ": request_timeout must be shorter than order_timeout");
  if (const auto* v = m.required("challenge")) read_challenge(r, *v, out.challenge);
  return out;
}

}  // namespace certwatch::config
