// Key pairing by file name, in one place for `certwatch check` (judge_paths) and the agent.
// Thread-safety: reentrant.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "pki/judge/report.h"

namespace certwatch::pki {

// The pairing rule of judge_paths, in one place for `certwatch check` and the agent. Files
// pair when their stems match ("x" for x.key.pem, x.cert.pem, x.chain.pem, x.crt, x.key...)
// within one directory, where seed 001's private/ and certs/ folders count as their parent.
std::string pairing_stem(const std::filesystem::path& file);
// The key judge_paths pairs with certificate file `cert`, chosen among files already listed
// (the agent's targets): the first (in walk order) file, other than `cert`, with the same
// pairing_stem that holds private keys and no certificate and opens as a key. `files` may
// hold anything; only those with cert's pairing_stem are opened. Its material stays in pki/
// (the record only has the fingerprint).
std::optional<KeyRecord> paired_key_among(const std::filesystem::path& cert,
                                          std::vector<std::filesystem::path> files);

// The key of a key file (no certificate, at least one private key), or nullopt for any other
// file; what judge_paths opens for a pairing candidate.
std::optional<KeyRecord> key_file_record(const std::filesystem::path& p);

}  // namespace certwatch::pki
