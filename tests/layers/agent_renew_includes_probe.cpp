// Checked as if it were a file of agent/renew/ (tests/CMakeLists.txt): renewal verifies with the
// prober, an edge agent/README.md's table allows, so the check must accept this include.
#include "agent/probe/tls_probe.h"
