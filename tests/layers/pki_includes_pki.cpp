// Probe for tests/layers/check_layers.cmake: pki/ including pki/ must build.
#include "pki/result.h"

int layer_probe_allowed() { return pki::Result<int>(1).ok() ? 0 : 1; }
