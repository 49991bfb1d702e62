// Probe for tests/layers/check_layers.cmake: pki/ including pki/ must build.
#include "base/result.h"

int layer_probe_allowed() { return certwatch::Result<int>(1).ok() ? 0 : 1; }
