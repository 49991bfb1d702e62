// libp11.h declares its RSA_METHOD/EC_KEY_METHOD hooks, which OpenSSL 3 deprecated: this file
// alone sees the deprecated declarations (it uses none of them itself).
#undef OPENSSL_NO_DEPRECATED
#include "pki/sign/token_key.h"

#include <libp11.h>
#include <openssl/err.h>

#include <map>
#include <mutex>
#include <set>

namespace certwatch::pki {
namespace {

// The reason of libp11's (or OpenSSL's) last error, e.g. "PIN incorrect"; the queue is cleared.
std::string last_reason() {
  std::string reason;
  while (const unsigned long e = ERR_get_error()) {
    const char* r = ERR_reason_error_string(e);
    reason = r != nullptr ? r : "error " + std::to_string(ERR_GET_REASON(e));
  }
  return reason.empty() ? std::string("no reason given") : reason;
}

std::string quoted(const std::string& s) {
  return "'" + s + "'";
}

std::string hex_of(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string key_name(const Pkcs11Uri& uri) {
  std::string out = "token " + quoted(uri.token.empty() ? "(any)" : uri.token);
  if (!uri.object.empty()) out += ", object " + quoted(uri.object);
  if (!uri.id.empty()) out += ", id " + hex_of(uri.id);
  return out;
}

bool token_matches(const PKCS11_TOKEN* t, const Pkcs11Uri& uri) {
  if (t == nullptr || !t->initialized) return false;
  auto eq = [](const char* have, const std::string& want) {
    return want.empty() || (have != nullptr && want == have);
  };
  return eq(t->label, uri.token) && eq(t->manufacturer, uri.manufacturer) &&
         eq(t->serialnr, uri.serial) && eq(t->model, uri.model);
}

bool key_matches_uri(const PKCS11_KEY& k, const Pkcs11Uri& uri) {
  if (!uri.object.empty() && (k.label == nullptr || uri.object != k.label)) return false;
  if (!uri.id.empty() &&
      (k.id == nullptr || uri.id != std::string(reinterpret_cast<const char*>(k.id), k.id_len)))
    return false;
  return true;
}

}  // namespace

// One loaded PKCS#11 library, its slots, and the tokens this process logged in to.
struct TokenKey::Module {
  std::string path;
  PKCS11_CTX* ctx = nullptr;
  PKCS11_SLOT* slots = nullptr;
  unsigned int nslots = 0;
  std::set<PKCS11_SLOT*> logged_in;

  ~Module() {
    if (slots != nullptr) PKCS11_release_all_slots(ctx, slots, nslots);
    if (ctx != nullptr) {
      PKCS11_CTX_unload(ctx);
      PKCS11_CTX_free(ctx);
    }
    ERR_clear_error();
  }
};

namespace {

std::mutex modules_mutex;
std::map<std::string, std::weak_ptr<TokenKey::Module>> modules;  // by library path

Result<std::shared_ptr<TokenKey::Module>> module_for(const std::string& path) {
  // Locked by the caller.
  if (auto live = modules[path].lock()) return live;
  auto m = std::make_shared<TokenKey::Module>();
  m->path = path;
  m->ctx = PKCS11_CTX_new();
  if (m->ctx == nullptr) return make_error("out of memory", ErrorKind::crypto);
  if (PKCS11_CTX_load(m->ctx, path.c_str()) != 0) {
    const std::string why = last_reason();
    PKCS11_CTX_free(m->ctx);
    m->ctx = nullptr;
    return make_error("cannot load the PKCS#11 module " + path + ": " + why, ErrorKind::not_found);
  }
  if (PKCS11_enumerate_slots(m->ctx, &m->slots, &m->nslots) != 0)
    return make_error("PKCS#11 module " + path + ": cannot list its slots: " + last_reason(),
                      ErrorKind::crypto);
  modules[path] = m;
  return m;
}

struct Found {
  std::shared_ptr<TokenKey::Module> module;
  PKCS11_SLOT* slot = nullptr;
};

// The module loaded, the token found, the user logged in.
Result<Found> open_token(const Pkcs11Uri& uri, const Passphrase& pin) {
  auto module = module_for(uri.module_path);
  if (!module) return module.error();
  Found f{*module, nullptr};
  std::string present;
  for (unsigned int i = 0; i < f.module->nslots; ++i) {
    PKCS11_SLOT* s = &f.module->slots[i];
    if (s->token != nullptr && s->token->initialized && s->token->label != nullptr)
      present += (present.empty() ? "" : ", ") + quoted(s->token->label);
    if (f.slot == nullptr && token_matches(s->token, uri)) f.slot = s;
  }
  if (f.slot == nullptr)
    return make_error("no token " + quoted(uri.token) + " in " + uri.module_path +
                          (present.empty() ? std::string(" (no token is present)")
                                           : " (present: " + present + ")"),
                      ErrorKind::not_found);
  if (f.module->logged_in.count(f.slot) == 0) {
    if (f.slot->token->userPinLocked)
      return make_error("token " + quoted(uri.token) + ": the user PIN is locked",
                        ErrorKind::crypto);
    if (PKCS11_open_session(f.slot, 1) != 0)
      return make_error("token " + quoted(uri.token) + ": cannot open a session: " + last_reason(),
                        ErrorKind::crypto);
    if (PKCS11_login(f.slot, 0, pin.value().c_str()) != 0) {
      std::string why = last_reason();
      if (why == "PIN incorrect") why = "wrong PIN";
      return make_error("token " + quoted(uri.token) + ": cannot log in: " + why,
                        ErrorKind::crypto);
    }
    f.module->logged_in.insert(f.slot);
  }
  return f;
}

// The private key the URI names in the token, or null.
PKCS11_KEY* find_key(PKCS11_SLOT* slot, const Pkcs11Uri& uri, unsigned int* matches) {
  PKCS11_KEY* keys = nullptr;
  unsigned int n = 0;
  *matches = 0;
  if (PKCS11_enumerate_keys(slot->token, &keys, &n) != 0) return nullptr;
  PKCS11_KEY* found = nullptr;
  for (unsigned int i = 0; i < n; ++i)
    if (keys[i].isPrivate && key_matches_uri(keys[i], uri)) {
      if (found == nullptr) found = &keys[i];
      ++*matches;
    }
  return found;
}

}  // namespace

Result<std::unique_ptr<TokenKey>> TokenKey::open(const Pkcs11Uri& uri, const Passphrase& pin) {
  std::lock_guard<std::mutex> lock(modules_mutex);
  auto f = open_token(uri, pin);
  if (!f) return f.error();
  unsigned int matches = 0;
  PKCS11_KEY* k = find_key(f->slot, uri, &matches);
  if (k == nullptr)
    return make_error("no private key " + key_name(uri) + " (" + uri.module_path + ")",
                      ErrorKind::not_found, "", "key_type");
  if (matches > 1)
    return make_error(std::to_string(matches) + " private keys match " + key_name(uri) +
                          ": name one (object= and id=)",
                      ErrorKind::invalid_input);
  std::unique_ptr<TokenKey> out(new TokenKey());
  out->module_ = f->module;
  out->key_.reset(PKCS11_get_private_key(k));
  if (!out->key_)
    return make_error(key_name(uri) + ": cannot use the key: " + last_reason(), ErrorKind::crypto);
  out->describe_ = key_name(uri);
  return out;
}

Result<std::unique_ptr<TokenKey>> TokenKey::generate(const Pkcs11Uri& uri, const Passphrase& pin,
                                                     KeyType type) {
  {
    std::lock_guard<std::mutex> lock(modules_mutex);
    if (!is_rsa(type))
      return make_error(
          "cannot generate a " + std::string(to_string(type)) + " key in the token: libp11 " +
              "generates RSA keys only. Create it with the token's tool (e.g. pkcs11-tool "
              "--keypairgen --key-type EC:prime256v1 --label LABEL --id ID) and name it, or "
              "choose an RSA key type",
          ErrorKind::refused);
    if (uri.object.empty())
      return make_error("a key generated in a token needs a label: object=LABEL in the URI",
                        ErrorKind::invalid_input);
    auto f = open_token(uri, pin);
    if (!f) return f.error();
    unsigned int matches = 0;
    if (find_key(f->slot, uri, &matches) != nullptr)
      return make_error("the token already holds a private key " + key_name(uri) +
                            " (use it as it is: leave out the key type, or name another)",
                        ErrorKind::exists);
    const unsigned int bits = type == KeyType::rsa_2048   ? 2048
                              : type == KeyType::rsa_3072 ? 3072
                                                          : 4096;
    std::string id = uri.id;
    std::string label = uri.object;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    // Deprecated in libp11 0.4.12 in favour of PKCS11_keygen, which Debian 12's 0.4.12 does not
    // export; it generates the pair in the token (C_GenerateKeyPair).
    const int rc = PKCS11_generate_key(
        f->slot->token, EVP_PKEY_RSA, bits, label.data(),
        id.empty() ? nullptr : reinterpret_cast<unsigned char*>(id.data()), id.size());
#pragma GCC diagnostic pop
    if (rc != 0)
      return make_error(key_name(uri) + ": the token did not generate the key: " + last_reason(),
                        ErrorKind::crypto);
  }
  return open(uri, pin);
}

TokenKey::~TokenKey() {
  std::lock_guard<std::mutex> lock(modules_mutex);
  key_.reset();
  module_.reset();  // the last key of a module unloads it
}

}  // namespace certwatch::pki
