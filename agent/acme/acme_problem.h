// ACME error documents (RFC 8555 6.7, RFC 7807 application/problem+json) as one-line errors:
//   acme: <type without urn:ietf:params:acme:error:> at <step>: <detail>; <sub>: <detail> ...
// The renewal layer shows the message as renewal.failed, so it carries the server's words.
// A non-2xx answer that is not a problem document becomes "acme: HTTP <status> at <step>".
// Thread-safety: reentrant.
#pragma once

#include <string>

#include "agent/acme/https_exchange.h"

namespace certwatch::agent::acme {

// The problem type without the ACME urn prefix ("badNonce"), or "" when `response` is not a
// problem document.
std::string problem_type(const HttpsResponse& response);

// The error message for a failed `response` at `step` (problem document or bare status).
std::string problem_message(const HttpsResponse& response, const std::string& step);

// An error for a problem object found inside a resource (a challenge's or authorization's
// "error" member), as JSON text.
std::string problem_message_of_json(const std::string& problem_json, const std::string& step);

}  // namespace certwatch::agent::acme
