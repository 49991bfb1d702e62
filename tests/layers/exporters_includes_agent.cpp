// Probe for tests/layers/check_layers.cmake: compiled as part of exporters/, an include of
// agent/ must fail to build.
#include "agent/inventory/inventory.h"

int layer_probe_exporters_upward() { return 0; }
