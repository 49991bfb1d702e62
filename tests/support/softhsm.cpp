#include "support/softhsm.h"

#include <stdexcept>

#include "support/fixtures.h"

namespace testing {

namespace {

// Debian's softhsm2 package; the multiarch path is the same library on amd64.
constexpr const char* kModules[] = {"/usr/lib/softhsm/libsofthsm2.so",
                                    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"};
constexpr const char* kSoPin = "so-Kq7z-Wx9t";

RunResult checked(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                  const std::string& what) {
  auto r = run(argv, std::chrono::seconds(30), {}, env);
  if (r.exit_code != 0)
    throw std::runtime_error("softhsm fixture: " + what + " failed (exit " +
                             std::to_string(r.exit_code) + "): " + r.out + r.err);
  return r;
}

}  // namespace

std::string SoftHsm::module_path() {
  for (const char* m : kModules)
    if (fs::exists(m)) return m;
  return kModules[0];
}

SoftHsm::SoftHsm(const fs::path& dir, std::string label)
    : dir_(dir / "softhsm"),
      tokens_(dir_ / "tokens"),
      away_(dir_ / "away"),
      pin_file_(dir_ / "user.pin"),
      wrong_pin_file_(dir_ / "wrong.pin"),
      label_(std::move(label)) {
  if (!have_program("softhsm2-util") || !fs::exists(module_path()))
    throw std::runtime_error(
        "softhsm fixture: SoftHSM2 is not installed (apt-get install softhsm2)");
  fs::create_directories(tokens_);
  fs::create_directories(away_);
  const auto conf = dir_ / "softhsm2.conf";
  write_file(conf, "directories.tokendir = " + tokens_.string() +
                       "\nobjectstore.backend = file\nlog.level = ERROR\n");
  env_ = {"SOFTHSM2_CONF=" + conf.string()};
  checked({"softhsm2-util", "--init-token", "--free", "--label", label_, "--pin", pin(), "--so-pin",
           kSoPin},
          env_, "softhsm2-util --init-token");
  write_file(pin_file_, pin() + "\n");
  write_file(wrong_pin_file_, "not-" + pin() + "\n");
}

std::string SoftHsm::uri(const std::string& object) const {
  return "pkcs11:token=" + label_ + ";object=" + object + "?module-path=" + module_path();
}

void SoftHsm::make_ec_key(const std::string& object, const std::string& id_hex) const {
  if (!have_program("pkcs11-tool"))
    throw std::runtime_error(
        "softhsm fixture: pkcs11-tool is not installed (apt-get install opensc)");
  checked({"pkcs11-tool", "--module", module_path(), "--token-label", label_, "--login", "--pin",
           pin(), "--keypairgen", "--key-type", "EC:prime256v1", "--label", object, "--id", id_hex},
          env_, "pkcs11-tool --keypairgen");
}

std::vector<std::string> SoftHsm::private_key_labels() const {
  auto r = checked({"pkcs11-tool", "--module", module_path(), "--token-label", label_, "--login",
                    "--pin", pin(), "--list-objects", "--type", "privkey"},
                   env_, "pkcs11-tool --list-objects");
  std::vector<std::string> labels;
  const std::string tag = "label:";
  for (size_t pos = r.out.find(tag); pos != std::string::npos; pos = r.out.find(tag, pos + 1)) {
    size_t begin = r.out.find_first_not_of(' ', pos + tag.size());
    size_t end = r.out.find('\n', begin);
    labels.push_back(r.out.substr(begin, end - begin));
  }
  return labels;
}

void SoftHsm::remove() {
  if (!removed_.empty()) throw std::runtime_error("softhsm fixture: the token is already away");
  // The file backend keeps one directory per token (named by its serial) in the token directory.
  for (const auto& e : fs::directory_iterator(tokens_)) {
    if (!e.is_directory()) continue;
    removed_ = e.path().filename();
    fs::rename(e.path(), away_ / removed_);
    return;
  }
  throw std::runtime_error("softhsm fixture: no token directory under " + tokens_.string());
}

void SoftHsm::put_back() {
  if (removed_.empty()) throw std::runtime_error("softhsm fixture: the token is not away");
  fs::rename(away_ / removed_, tokens_ / removed_);
  removed_.clear();
}

}  // namespace testing
