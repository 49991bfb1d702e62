// Fault injection for the crash-safety tests of the renewal (issue #11, acceptance 2 and 3).
// Compiled in only with -DCERTWATCH_FAULT_POINTS=ON (a test build option, on by default
// in builds with tests, off in packages): without it both calls are constant no-ops.
//
//   CERTWATCH_FAULT=<point>            fault_point("<point>") ends the process at once (_exit 86),
//                                      as a crash or a power cut would: nothing is flushed
//   CERTWATCH_FAULT_ENOSPC=<file>      while <file> exists, every atomic write fails with ENOSPC
//   CERTWATCH_FAULT_PAUSE=<point>:<ms> fault_point("<point>") first sleeps <ms> (a slow step:
//                                      holds a transaction open for the lock tests)
//
// Thread-safety: reads the environment only.
#pragma once

#include <string_view>

namespace certwatch::pki {

// The exit status of a process ended by a fault point.
inline constexpr int kFaultExitCode = 86;

void fault_point(std::string_view name);
bool fault_enospc();

}  // namespace certwatch::pki
