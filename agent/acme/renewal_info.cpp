#include "agent/acme/renewal_info.h"

#include <chrono>
#include <nlohmann/json.hpp>

#include "pki/acme/ari.h"

namespace certwatch::agent::acme {

using certwatch::make_error;
using certwatch::Result;
using nlohmann::json;

Result<RenewalInfo> parse_renewal_info(const std::string& body, const std::string& retry_after,
                                       int64_t now_unix) {
  const auto doc = json::parse(body, nullptr, false);
  if (!doc.is_object() || !doc.contains("suggestedWindow") || !doc["suggestedWindow"].is_object())
    return make_error("acme: renewalInfo: the answer has no suggestedWindow");
  const auto& window = doc["suggestedWindow"];
  RenewalInfo out;
  for (auto [name, target] :
       {std::pair{"start", &out.window_start}, std::pair{"end", &out.window_end}}) {
    if (!window.contains(name) || !window[name].is_string())
      return make_error(std::string("acme: renewalInfo: suggestedWindow has no ") + name);
    auto t = pki::parse_rfc3339(window[name].get<std::string>());
    if (!t)
      return make_error("acme: renewalInfo: suggestedWindow " + std::string(name) + ": " +
                        t.error().message);
    *target = *t;
  }
  if (out.window_end < out.window_start)
    return make_error("acme: renewalInfo: suggestedWindow ends before it starts");
  if (doc.contains("explanationURL") && doc["explanationURL"].is_string())
    out.explanation_url = doc["explanationURL"].get<std::string>();
  out.retry_after = parse_retry_after(retry_after, now_unix).value_or(0);
  return out;
}

boost::asio::awaitable<Result<RenewalInfo>> fetch_renewal_info(AcmeSession& session,
                                                               const std::string& leaf_der) {
  auto id = pki::ari_cert_id(leaf_der);
  if (!id)
    co_return make_error("acme: renewalInfo: " + id.error().message,
                         certwatch::ErrorKind::not_found);
  auto d = co_await session.ensure_directory();
  if (!d) co_return d.error();
  std::string base = session.endpoint("renewalInfo");
  if (base.empty())
    co_return make_error("acme: the directory offers no renewalInfo",
                         certwatch::ErrorKind::not_found);
  if (base.back() != '/') base += '/';
  const std::string url = base + *id, step = "renewalInfo";
  auto r = co_await session.get(url, step);
  if (!r) co_return r.error();
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  co_return parse_renewal_info(r->body, r->header("retry-after"), now);
}

}  // namespace certwatch::agent::acme
