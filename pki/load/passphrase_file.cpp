#include "pki/load/passphrase_file.h"

#include "pki/load/read_file.h"

namespace certwatch::pki {

std::string first_line(std::string_view text) {
  std::string_view line = text.substr(0, text.find('\n'));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return std::string(line);
}

Result<Passphrase> read_passphrase_file(const std::filesystem::path& path) {
  auto text = read_regular_file(path, kMaxSecretBytes);
  if (!text) return make_error(text.error().message, ErrorKind::io);
  const Passphrase scrub(std::move(*text));  // wipes the file's copy on return
  Passphrase pass(first_line(scrub.value()));
  if (pass.value().empty()) return make_error("empty passphrase", ErrorKind::invalid_input);
  return pass;
}

}  // namespace certwatch::pki
