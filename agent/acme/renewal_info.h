// ARI (draft-ietf-acme-ari): GET <renewalInfo>/<cert id> from the directory's renewalInfo
// endpoint and read suggestedWindow {start, end}, explanationURL and Retry-After. A directory
// without renewalInfo is an error the caller answers with its own schedule.
// Thread-safety: io_context thread only.
#pragma once

// clang-format off
#include <utility>  // before asio: Boost 1.74 + GCC 12 + C++20
// clang-format on

#include <boost/asio/awaitable.hpp>
#include <string>

#include "agent/acme/acme_client.h"
#include "agent/acme/acme_session.h"

namespace certwatch::agent::acme {

boost::asio::awaitable<certwatch::Result<RenewalInfo>> fetch_renewal_info(
    AcmeSession& session, const std::string& leaf_der);

// The body and Retry-After of a renewalInfo answer as RenewalInfo (split out for unit tests).
certwatch::Result<RenewalInfo> parse_renewal_info(const std::string& body,
                                                  const std::string& retry_after, int64_t now_unix);

}  // namespace certwatch::agent::acme
