// Making a server pick up renewed files (config::Reload): a signal to the pid in a pid file,
// a command run as argv (no shell: nothing in the config is ever interpreted by sh), or a
// systemd unit reloaded over D-Bus (libsystemd's sd-bus: org.freedesktop.systemd1.Manager
// ReloadUnit, which polkit or a unit's own rules can allow without any capability; then, like
// `systemctl reload`, the wait for the job's JobRemoved: done is a success, any other result
// an error).
// None of them proves the reload took effect: the handshake check does that (verifier.h).
// Thread-safety: run_reload is reentrant and blocks for at most `command_timeout` (a command,
// or the wait for a systemd job) plus a D-Bus round trip; the agent calls start_reload, which runs
// it on a thread of its own and posts the result back, so a slow reload never stalls the io_context
// (scrapes, probes).
#pragma once

#include <utility>  // before asio: Boost 1.74 + GCC 12 + C++20

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <string>

#include "base/result.h"
#include "config/config.h"

namespace certwatch::agent {

// One word for logs and for grouping renewals that share a reload ("signal HUP /run/x.pid").
std::string describe_reload(const config::Reload& reload);

// How long a reload command may run before it is killed.
inline constexpr std::chrono::milliseconds kCommandTimeout = std::chrono::seconds(30);

certwatch::Result<void> run_reload(const config::Reload& reload,
                                   std::chrono::milliseconds command_timeout = kCommandTimeout);

// run_reload on a thread of its own (agent/process/argv_runner.h: start_argv for a command,
// start_detached for the others); `done` runs on `io` with its result.
void start_reload(boost::asio::io_context& io, const config::Reload& reload,
                  std::function<void(certwatch::Result<void>)> done);

}  // namespace certwatch::agent
