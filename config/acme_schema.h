// The `issuers[].acme` block of the config (issue #14): read by config/loader.cpp's issuer
// schema when an entry has `acme:`. Kept apart from loader.cpp because it is a schema of its
// own (directory, account, trust, challenge) and the loader is long enough.
// Not thread-safe: runs inside one load.
#pragma once

#include <optional>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace certwatch::config {

// The placeholders a dns-01 hook's argv may use (agent/acme/dns_hook_solver.h substitutes them).
inline constexpr std::array<std::string_view, 3> kAcmeHookPlaceholders{"{name}", "{value}",
                                                                       "{identifier}"};

// Reads `f` (the value of `acme:`); every problem is recorded in `r` at its line:col. The
// result is filled with what could be read (the loader discards the Config on any problem).
std::optional<AcmeIssuer> read_acme(YamlReader& r, const Field& f);

}  // namespace certwatch::config
