// The batch walk behind `certwatch check`: many files and directories judged on a few
// threads, keys paired by name (pki/load/pairing.h). Thread-safety: reentrant.
#pragma once

#include <filesystem>
#include <optional>
#include <span>
#include <vector>

#include "pki/judge/judge_options.h"
#include "pki/judge/report.h"
#include "pki/verify/verify_cache.h"

namespace certwatch::pki {

// Walks files and directories (recursive, symlink loops detected, files over 10 MiB refused),
// pairs keys with certificates by file stem, and judges every certificate file. Key-only
// files produce no report of their own unless they have findings (e.g. key.permissions).
std::vector<Report> judge_paths(std::span<const std::filesystem::path> paths,
                                const JudgeOptions& options,
                                const std::optional<std::filesystem::path>& key_path = std::nullopt,
                                VerifyCache* cache = nullptr);

}  // namespace certwatch::pki
