// A program run as argv (no shell: nothing from the config is ever interpreted by sh), bounded
// in time, with its first stderr line kept for the error message. Used by the dns-01 hooks
// (dns_hook_solver.h) and the renewal's reload command (renew/reloader.cpp).
// Thread-safety: reentrant; blocks the calling thread for at most `timeout`, so the agent runs
// it on a thread of its own (start_argv) and gets the result posted back.
#pragma once

#include <utility>  // before asio: Boost 1.74 + GCC 12 + C++20

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "base/result.h"

namespace certwatch::agent {

// Runs `argv` (argv[0] looked up in PATH) with stdin from /dev/null and stdout discarded.
// An error when it cannot start, exits non-zero ("WHAT PROGRAM exited with 2: <first stderr
// line>"), ends by a signal, or outlives `timeout` (then it is killed). `what` names the
// command in messages ("reload command", "dns-01 set hook").
certwatch::Result<void> run_argv(const std::vector<std::string>& argv,
                                 std::chrono::milliseconds timeout, const std::string& what);

// For an agent that stops: every command run_argv is running gets SIGTERM, and SIGKILL 2 s
// later if it is still there; commands started afterwards get the same. Their results are
// errors ("... killed: the agent is stopping"). Thread-safe; for the rest of the process.
void stop_argv_runs();

// `work` on a detached thread; `done` runs on `io` with its result. A work guard keeps
// io.run() from returning while `work` runs; it is released on the io thread with the result,
// so io.run() returns only after every such work has ended. The caller keeps `io` alive until
// then: work still running when `io` is destroyed would post to a dead io_context.
void start_detached(boost::asio::io_context& io, std::function<certwatch::Result<void>()> work,
                    std::function<void(certwatch::Result<void>)> done);

// run_argv with start_detached: io.run() returns only after every command has ended (at most
// `timeout`, or the 2 s of stop_argv_runs()).
void start_argv(boost::asio::io_context& io, std::vector<std::string> argv,
                std::chrono::milliseconds timeout, std::string what,
                std::function<void(certwatch::Result<void>)> done);

}  // namespace certwatch::agent
