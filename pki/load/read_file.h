// Reading a file the user named (config, trust bundles, keys, passphrase and password files):
// the one rule for every such read. The open is non-blocking (a FIFO without a writer cannot
// hang it), the descriptor must be a regular file (no FIFOs, devices such as /dev/zero,
// sockets or directories), and the bytes are capped (a file that grows past the cap while it
// is read is refused too). Errors name the path and say why. Thread-safety: reentrant.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "base/result.h"

namespace certwatch::pki {

// Caps for the files that are not certificate files (those use kMaxInputBytes, 10 MiB).
inline constexpr std::uintmax_t kMaxConfigBytes = 4u * 1024u * 1024u;  // 40k watch entries fit
inline constexpr std::uintmax_t kMaxSecretBytes = 64u * 1024u;         // passphrases, passwords

// The whole file, or an error "PATH: not a regular file (a FIFO)", "PATH: N bytes, over the
// LIMIT limit", "PATH: No such file or directory"...
// `st`, when given, receives fstat(2) of the descriptor that was read.
Result<std::string> read_regular_file(const std::filesystem::path& path, std::uintmax_t limit,
                                      struct stat* st = nullptr);

// "1 MiB", "64 KiB", "100 bytes": a limit as people read it.
std::string describe_size(std::uintmax_t bytes);

}  // namespace certwatch::pki
