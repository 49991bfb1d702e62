// Building blocks of judge.cpp that the batch walk (judge_paths.cpp) shares. Private to pki/:
// no caller outside the judge includes this. Thread-safety: reentrant.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "pki/judge/judge_options.h"
#include "pki/judge/report.h"
#include "pki/load/load.h"
#include "pki/verify/chain.h"
#include "pki/verify/verify_cache.h"

namespace certwatch::pki {

// The prebuilt trust index of the options, or one built now.
std::shared_ptr<const TrustIndex> trust_of(const JudgeOptions& o);

// Judges a file already loaded, with its key (if any) already opened. `key_findings_here`:
// the key's own findings (key.permissions, key.encrypted) belong to this report.
Report judge_loaded(FileInput& in, const std::optional<KeyRecord>& key, bool key_findings_here,
                    bool explicit_arg, const JudgeOptions& options, const TrustIndex& trust,
                    VerifyCache& cache);

// The key a certificate file carries itself (a combined PEM), if any. Wipes the key bytes.
std::optional<KeyRecord> embedded_key(FileInput& in);

// The key named with --key, opened once; a key that cannot be read is an input finding.
std::optional<KeyRecord> explicit_key(const std::optional<std::filesystem::path>& key_path,
                                      const JudgeOptions& options, std::vector<Finding>& errors);

}  // namespace certwatch::pki
