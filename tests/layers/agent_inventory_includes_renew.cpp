// Checked as if it were a file of agent/inventory/ (tests/CMakeLists.txt): the inventory is
// below renewal in agent/README.md's table, so the check must refuse this include.
#include "agent/renew/scheduler.h"
