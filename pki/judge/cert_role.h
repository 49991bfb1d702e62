// Where a certificate stands in its file: the judge decides it once (pki/verify/chain_analysis.cpp)
// and every reader compares the enum. to_string gives the one spelling of JSON, metric labels,
// the CLI table and the status page; those strings are contracts (metric_names.h's `role`).
#pragma once

#include <cstdint>
#include <string_view>

namespace certwatch::pki {

enum class CertRole : std::uint8_t {
  unrelated,     // on no path from the leaf (the default before the path is walked)
  leaf,          // the end entity: the path's start
  intermediate,  // a CA on the path (or in a CA bundle) that is not self-signed
  root,          // a self-signed CA on the path or in a bundle
};

constexpr std::string_view to_string(CertRole r) {
  switch (r) {
    case CertRole::leaf:
      return "leaf";
    case CertRole::intermediate:
      return "intermediate";
    case CertRole::root:
      return "root";
    case CertRole::unrelated:
      return "unrelated";
  }
  return "unrelated";
}

}  // namespace certwatch::pki
