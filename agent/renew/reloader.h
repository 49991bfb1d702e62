// Making a server pick up renewed files (config::Reload): a signal to the pid in a pid file,
// a command run as argv (no shell: nothing in the config is ever interpreted by sh), or a
// systemd unit reloaded over D-Bus (libsystemd's sd-bus: org.freedesktop.systemd1.Manager
// ReloadUnit, which polkit or a unit's own rules can allow without any capability).
// None of them proves the reload took effect: the handshake check does that (verifier.h).
// Thread-safety: reentrant. A command blocks the caller for at most `command_timeout`.
#pragma once

#include <chrono>
#include <string>

#include "config/config.h"
#include "pki/result.h"

namespace certwatch::agent {

// One word for logs and for grouping renewals that share a reload ("signal HUP /run/x.pid").
std::string describe_reload(const config::Reload& reload);

pki::Result<void> run_reload(const config::Reload& reload,
                             std::chrono::milliseconds command_timeout = std::chrono::seconds(30));

}  // namespace certwatch::agent
