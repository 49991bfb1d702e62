// The daemon's log of inventory changes: an InventoryListener that says what was added, what
// certificates changed, and which findings were raised, changed severity or cleared. During
// the initial scan (`quiet()` true) only critical findings are listed; the scan's summary
// line says the rest.
#pragma once

#include <functional>

#include "agent/inventory/inventory.h"

namespace certwatch::agent {

InventoryListener make_change_log(std::function<bool()> quiet);

}  // namespace certwatch::agent
