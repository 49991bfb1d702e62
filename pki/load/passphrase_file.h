// Passphrase files: `pki --passphrase-file`, a systemd credential, `issuers[].passphrase_file`.
// One rule for all (README: "first line opens the CA key"): the passphrase is the file's first
// line without its line ending ("\n" or "\r\n"; one '\r' is stripped, a second is part of the
// passphrase); the file is read as read_regular_file reads (at most kMaxSecretBytes) and its
// copy in memory is wiped. Thread-safety: reentrant.
#pragma once

#include <filesystem>

#include "base/result.h"
#include "pki/x509/keygen.h"

namespace certwatch::pki {

// The first line of `text` without its line ending.
std::string first_line(std::string_view text);

// On failure: the read error as read_regular_file words it (ErrorKind::io), or
// ErrorKind::invalid_input when the first line is empty (callers word that one).
Result<Passphrase> read_passphrase_file(const std::filesystem::path& path);

}  // namespace certwatch::pki
