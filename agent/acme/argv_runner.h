// The argv runner moved to agent/process/ (it serves renewal's reloads as much as ACME's
// hooks). This header remains only while agent/daemon/daemon.cpp still includes the old path.
#pragma once

#include "agent/process/argv_runner.h"
