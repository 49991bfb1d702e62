// What `certwatch check` prints, shared with the commands that judge chains from elsewhere
// (`certwatch probe`): the table, the JSON document and the trust anchors of --ca-bundle.
// Implemented in cmd_check.cpp. Reports' `target` fills the first column (a path, or
// "host:port [address]"); `noun` names it in the table ("file", "endpoint").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pki/judge/judge.h"

namespace certwatch {

// The bundles given (each must load and hold a certificate), or the system store's bundle.
certwatch::Result<std::vector<pki::Certificate>> load_trust_anchors(
    const std::vector<std::string>& bundles);
void print_check_human(const std::vector<pki::Report>& reports,
                       const std::vector<pki::Finding>& findings, int64_t now, int code,
                       std::string_view noun);
void print_check_json(const std::vector<pki::Report>& reports,
                      const std::vector<pki::Finding>& findings, int64_t now, int code);

}  // namespace certwatch
