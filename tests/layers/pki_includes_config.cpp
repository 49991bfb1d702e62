// Probe for tests/layers/check_layers.cmake: compiled as part of pki/ (with its include
// root), an include of config/ must fail to build.
#include "config/config.h"

int layer_probe_upward() { return 0; }
