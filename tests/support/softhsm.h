// A SoftHSM2 token of its own for one test: its own SOFTHSM2_CONF and token directory under
// the test's temp directory, initialised with softhsm2-util. The test process's environment
// is never changed (ctest runs cases in parallel, and a library loaded here would read it):
// every child that talks to the token gets env() instead. A token is "removed" by moving its
// directory out of the token directory, as a pulled USB token disappears from its slot.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace testing {

namespace fs = std::filesystem;

class SoftHsm {
 public:
  // Initialises a token labelled `label` under dir/softhsm with user PIN pin() and writes the
  // PIN to pin_file(). Throws (the test fails, saying why) when SoftHSM2 is missing or
  // softhsm2-util refuses.
  explicit SoftHsm(const fs::path& dir, std::string label = "ca");
  SoftHsm(const SoftHsm&) = delete;
  SoftHsm& operator=(const SoftHsm&) = delete;

  static std::string module_path();
  // Holds no hex digit, so that finding it in a ledger dump or a file is never a coincidence
  // with a serial or a fingerprint.
  static std::string pin() { return "pin-Kq7z-Wx9t"; }

  const std::string& label() const { return label_; }
  // "SOFTHSM2_CONF=..." for testing::run, pki_cli::certwatch and AgentProcess.
  const std::vector<std::string>& env() const { return env_; }
  const fs::path& pin_file() const { return pin_file_; }
  // A file holding a PIN the token does not accept.
  const fs::path& wrong_pin_file() const { return wrong_pin_file_; }
  // pkcs11:token=LABEL;object=OBJECT?module-path=MODULE
  std::string uri(const std::string& object) const;

  // An EC P-256 key pair made by pkcs11-tool (libp11 generates RSA only), labelled `object`
  // with CKA_ID `id_hex`.
  void make_ec_key(const std::string& object, const std::string& id_hex) const;
  // Labels of the private keys in the token (pkcs11-tool --list-objects).
  std::vector<std::string> private_key_labels() const;

  // Moves the token's directory away: the module then finds no token with this label.
  void remove();
  // Puts it back where it was.
  void put_back();

 private:
  fs::path dir_, tokens_, away_, pin_file_, wrong_pin_file_;
  std::string label_;
  std::vector<std::string> env_;
  fs::path removed_;  // the token's directory while it is away
};

}  // namespace testing
