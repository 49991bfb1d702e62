#include "pki/load/pairing.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "pki/load/load.h"
#include "pki/x509/key.h"

namespace certwatch::pki {
namespace fs = std::filesystem;

namespace {

bool is_pairing_folder(const fs::path& dir) {
  const std::string dn = dir.filename().string();
  return dn == "private" || dn == "certs";
}

fs::path pairing_base(const fs::path& file) {
  fs::path dir = file.parent_path();
  if (is_pairing_folder(dir)) dir = dir.parent_path();
  return dir;
}

}  // namespace

std::string pairing_stem(const fs::path& p) {
  static const std::vector<std::string> kStrip{".pem", ".crt",       ".cer",    ".cert",  ".der",
                                               ".key", ".p7b",       ".p7c",    ".chain", ".bundle",
                                               ".p8",  ".fullchain", ".privkey"};
  std::string stem = p.filename().string();
  for (bool stripped = true; stripped;) {
    stripped = false;
    for (const auto& ext : kStrip) {
      if (stem.size() > ext.size() &&
          stem.compare(stem.size() - ext.size(), ext.size(), ext) == 0) {
        stem.resize(stem.size() - ext.size());
        stripped = true;
      }
    }
  }
  return pairing_base(p).lexically_normal().string() + "/" + stem;
}

std::optional<KeyRecord> paired_key_among(const fs::path& cert, std::vector<fs::path> files) {
  const std::string stem = pairing_stem(cert);
  std::erase_if(files, [&](const fs::path& p) { return p == cert || pairing_stem(p) != stem; });
  // judge_paths' walk order (sorted children, depth first) is the sorted full paths'; the
  // first key wins there too.
  std::sort(files.begin(), files.end());
  for (const auto& p : files) {
    FileInput in = load_file(p);
    if (!in.ok() || !in.loaded->certs.empty() || in.loaded->private_keys == 0) continue;
    auto k = key_from_bytes(in.key_bytes, in.path.string(), in.mode);
    in.wipe();
    if (k) return std::move(*k);
  }
  return std::nullopt;
}

// PEM text without a private-key label is answered without parsing the certificates it holds.
// Bytes that may hold a key are wiped.
std::optional<KeyRecord> key_file_record(const fs::path& p) {
  auto peek = read_limited(p);
  if (!peek) return std::nullopt;  // load_file would not find a key either
  const bool pem = peek->find("-----BEGIN ") != std::string::npos;
  const bool key_label = peek->find("PRIVATE KEY-----") != std::string::npos;
  OPENSSL_cleanse(peek->data(), peek->size());
  if (pem && !key_label) return std::nullopt;
  FileInput in = load_file(p);
  std::optional<KeyRecord> out;
  if (in.ok() && in.loaded->certs.empty() && in.loaded->private_keys > 0) {
    if (auto k = key_from_bytes(in.key_bytes, in.path.string(), in.mode)) out = std::move(*k);
  }
  in.wipe();
  return out;
}

}  // namespace certwatch::pki
