// The judge: turns what was read from a file (or served by an endpoint) into compact
// certificate records and findings. The same code serves `certwatch check`, the agent's
// inventory and the renewer's pre-deploy check. Contract for every caller; extend, don't
// rename. Thread-safety: judge_* functions are reentrant; a VerifyCache may be shared
// between threads (it locks internally). The options, records, verify cache, pairing and the
// batch walk live in their own headers, included here so a caller of the judge needs one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "pki/judge/finding.h"
#include "pki/judge/judge_options.h"
#include "pki/judge/judge_paths.h"
#include "pki/judge/report.h"
#include "pki/load/pairing.h"
#include "pki/verify/verify_cache.h"
#include "pki/x509/certificate.h"

namespace certwatch::pki {

// Judges certificates already parsed (from a file or from the wire).
Report judge_chain(std::string target, std::span<const Certificate> chain,
                   const std::optional<KeyRecord>& key, const JudgeOptions& options,
                   VerifyCache* cache = nullptr);

// Reads and judges one file. A key file given explicitly pairs with the file's leaf. Input
// problems become input.* findings on the report, never exceptions.
Report judge_file(const std::filesystem::path& path, const JudgeOptions& options,
                  const std::optional<std::filesystem::path>& key_path = std::nullopt,
                  VerifyCache* cache = nullptr);

// Judges one file exactly as judge_paths judges it inside a walk: a key the file carries
// itself wins (and its findings are reported here); otherwise `paired_key` (from
// paired_key_among) is compared with the leaf but its own findings (key.permissions,
// key.encrypted) belong to the key file's report, as in judge_paths. A key-only file gives
// its own findings. `explicit_arg`: the file was named, not found in a directory.
Report judge_walked_file(const std::filesystem::path& path, const JudgeOptions& options,
                         const std::optional<KeyRecord>& paired_key, bool explicit_arg,
                         VerifyCache* cache = nullptr);

}  // namespace certwatch::pki
