// One HTTPS request/response for the ACME client: Boost.Beast over OpenSSL on the caller's
// io_context, a fresh connection per exchange (ACME servers are few and slow-paced), one
// deadline for the whole exchange (resolve, connect, handshake, write, read), peer verification
// against the configured CA files (or the system bundle) with host name or IP checks, and a
// limit on headers and body. Errors are one line naming the step and the host:port.
// Thread-safety: io_context thread only.
#pragma once

// clang-format off
#include <utility>  // before asio: Boost 1.74 + GCC 12 + C++20
// clang-format on

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace certwatch::agent::acme {

struct HttpsRequest {
  std::string method = "GET";  // GET, HEAD, POST
  std::string url;             // https://host[:port]/path
  std::string content_type;    // POST only
  std::string body;
  // The exchange ends by this moment at the latest, even when the transport's own timeout
  // would allow more (an ACME order's deadline: acme_session.h).
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

struct HttpsResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order
  std::string body;
  // The first value of a header (name lower-case), "" if absent.
  std::string header(std::string_view name) const;
};

struct HttpsUrl {
  std::string host;  // without brackets for IPv6
  unsigned short port = 443;
  std::string target;  // "/path?query", "/" at least
};
certwatch::Result<HttpsUrl> parse_https_url(const std::string& url);

// Retry-After (RFC 9110 10.2.3) as the ACME polls and ARI read it: delay-seconds or an
// HTTP-date, turned into seconds from `now_unix`; nullopt when absent or unreadable.
std::optional<int64_t> parse_retry_after(const std::string& value, int64_t now_unix);

class HttpsTransport {
 public:
  // Loads the trust (files, or the system bundle when `trust` is empty); errors name the file.
  static certwatch::Result<std::unique_ptr<HttpsTransport>> make(
      boost::asio::io_context& io, const std::vector<std::filesystem::path>& trust,
      std::chrono::milliseconds timeout, size_t body_limit = 1 << 20);
  virtual ~HttpsTransport() = default;
  // One exchange, bounded by the transport's timeout and the request's deadline, whichever
  // comes first; any status is a response, transport failures are errors.
  virtual boost::asio::awaitable<certwatch::Result<HttpsResponse>> exchange(
      HttpsRequest request) = 0;
  // Aborts the exchange in flight and every later one (they fail with "cancelled").
  virtual void cancel() = 0;
};

}  // namespace certwatch::agent::acme
