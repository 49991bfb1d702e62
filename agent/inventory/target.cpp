#include "agent/inventory/target.h"

#include "exporters/prometheus/metric_names.h"

namespace certwatch::agent {

std::string_view to_string(SourceKind kind) {
  switch (kind) {
    case SourceKind::file:
      return exporters::metric_names::kSourceFile;
    case SourceKind::endpoint:
      return exporters::metric_names::kSourceEndpoint;
    case SourceKind::ledger:
    case SourceKind::managed:
      return exporters::metric_names::kSourceLedger;
  }
  return "unknown";
}

}  // namespace certwatch::agent
