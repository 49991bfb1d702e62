#include "support/hierarchy_generator.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <random>
#include <stdexcept>

namespace testing {
namespace {

using certwatch::pki::UniquePtr;

constexpr int64_t kDay = 86400;

// One CA or leaf identity: a name and a key of the pool. Two entities may share a name
// (a re-keyed CA, an impostor); certificates of one entity share its key.
struct Entity {
  std::string cn;
  size_t key = 0;
};

enum class Time { valid, expired, not_yet_valid };

struct Spec {
  int subject = 0;  // entity indexes
  int issuer = 0;
  bool ca = true;
  Time time = Time::valid;
  int64_t days_extra = 0;  // to tell re-issued copies apart in time
  bool aki = true;
  bool ski = true;
  int path_len = -1;  // -1: none
  std::string name_constraints;
  bool key_cert_sign = true;
};

class Drawer {
 public:
  explicit Drawer(uint64_t seed) : rng_(seed) {}
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  int between(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  std::mt19937_64& rng() { return rng_; }

 private:
  std::mt19937_64 rng_;
};

std::string spki_key_id(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(key, &der);
  if (len <= 0) throw std::runtime_error("i2d_PUBKEY failed");
  unsigned char md[SHA_DIGEST_LENGTH];
  SHA1(der, static_cast<size_t>(len), md);
  OPENSSL_free(der);
  return std::string(reinterpret_cast<const char*>(md), sizeof md);
}

void add_conf(X509* x, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, nullptr, x, nullptr, nullptr, 0);
  UniquePtr<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(x, ext.get(), -1) != 1)
    throw std::runtime_error("extension " + value + " failed");
}

void add_key_id(X509* x, int nid, const std::string& id) {
  UniquePtr<ASN1_STRING> os(ASN1_OCTET_STRING_new());
  ASN1_OCTET_STRING_set(os.get(), reinterpret_cast<const unsigned char*>(id.data()),
                        static_cast<int>(id.size()));
  if (nid == NID_subject_key_identifier) {
    X509_add1_ext_i2d(x, nid, os.get(), 0, X509V3_ADD_DEFAULT);
    return;
  }
  UniquePtr<AUTHORITY_KEYID> akid(AUTHORITY_KEYID_new());
  akid->keyid = os.release();
  X509_add1_ext_i2d(x, nid, akid.get(), 0, X509V3_ADD_DEFAULT);
}

UniquePtr<X509_NAME> name_of(const std::string& cn) {
  UniquePtr<X509_NAME> n(X509_NAME_new());
  X509_NAME_add_entry_by_txt(n.get(), "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("certwatch paths"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(n.get(), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  return n;
}

std::string pem_of(X509* x) {
  UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), x);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string make_cert(const Spec& s, const std::vector<Entity>& ents, const KeyPool& pool,
                      int64_t now, uint64_t serial) {
  const Entity& subj = ents[static_cast<size_t>(s.subject)];
  const Entity& iss = ents[static_cast<size_t>(s.issuer)];
  UniquePtr<X509> x(X509_new());
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(x.get()), serial);
  X509_set_subject_name(x.get(), name_of(subj.cn).get());
  X509_set_issuer_name(x.get(), name_of(iss.cn).get());
  int64_t from = now - 30 * kDay - s.days_extra, to = now + 900 * kDay + s.days_extra;
  if (s.time == Time::expired) from = now - 800 * kDay, to = now - 5 * kDay - s.days_extra;
  if (s.time == Time::not_yet_valid) from = now + 5 * kDay + s.days_extra, to = now + 900 * kDay;
  ASN1_TIME_set(X509_getm_notBefore(x.get()), static_cast<time_t>(from));
  ASN1_TIME_set(X509_getm_notAfter(x.get()), static_cast<time_t>(to));
  // The subject's key as X509_set_pubkey would write it (id-ecPublicKey, P-256, the point),
  // without a trip through the encoder.
  const std::string& pt = pool.point(subj.key);
  auto* penc = static_cast<unsigned char*>(OPENSSL_memdup(pt.data(), pt.size()));
  if (penc == nullptr ||
      X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x.get()), OBJ_nid2obj(NID_X9_62_id_ecPublicKey),
                             V_ASN1_OBJECT, OBJ_nid2obj(NID_X9_62_prime256v1), penc,
                             static_cast<int>(pt.size())) != 1) {
    OPENSSL_free(penc);
    throw std::runtime_error("X509_PUBKEY_set0_param failed");
  }
  if (s.ca) {
    add_conf(x.get(), NID_basic_constraints,
             "critical,CA:TRUE" +
                 (s.path_len >= 0 ? ",pathlen:" + std::to_string(s.path_len) : std::string()));
    add_conf(x.get(), NID_key_usage,
             s.key_cert_sign ? "critical,keyCertSign,cRLSign" : "critical,cRLSign");
    if (!s.name_constraints.empty())
      add_conf(x.get(), NID_name_constraints, "critical," + s.name_constraints);
  } else {
    add_conf(x.get(), NID_basic_constraints, "CA:FALSE");
    add_conf(x.get(), NID_key_usage, "critical,digitalSignature");
    add_conf(x.get(), NID_ext_key_usage, "serverAuth");
    add_conf(x.get(), NID_subject_alt_name, "DNS:" + subj.cn);
  }
  if (s.ski) add_key_id(x.get(), NID_subject_key_identifier, pool.key_id(subj.key));
  if (s.aki) add_key_id(x.get(), NID_authority_key_identifier, pool.key_id(iss.key));
  if (X509_sign(x.get(), pool.key(iss.key), EVP_sha256()) <= 0)
    throw std::runtime_error("X509_sign failed");
  return pem_of(x.get());
}

// The draw: entities, then certificate specs, then which go into the file and the bundle.
struct Draw {
  Drawer d;
  std::vector<Entity> ents;
  std::vector<Spec> specs;
  std::vector<int> roots;   // spec indexes of self-signed certificates
  std::vector<int> extras;  // cross-signs, links, impostors, re-issues
  std::vector<int> chain;   // the intermediates under the main root, top first
  int leaf = -1;
  std::string shape;

  explicit Draw(uint64_t seed) : d(seed) {}
  int entity(std::string cn, size_t key) {
    ents.push_back(Entity{std::move(cn), key});
    return static_cast<int>(ents.size()) - 1;
  }
  Time time(double expired, double not_yet) {
    if (d.chance(expired)) return Time::expired;
    if (d.chance(not_yet)) return Time::not_yet_valid;
    return Time::valid;
  }
  int spec(int subject, int issuer, bool ca = true) {
    Spec s;
    s.subject = subject;
    s.issuer = issuer;
    s.ca = ca;
    s.time = ca ? time(0.05, 0.03) : time(0.02, 0.01);
    s.aki = subject == issuer ? d.chance(0.3) : !d.chance(0.2);
    s.ski = !d.chance(0.05);
    if (ca && d.chance(0.25)) s.path_len = d.between(0, 2);
    if (ca && subject != issuer && d.chance(0.06)) {
      const int k = d.between(0, 2);
      s.name_constraints = k == 0   ? "permitted;DNS:paths.test"
                           : k == 1 ? "permitted;DNS:elsewhere.test"
                                    : "excluded;DNS:leaf.paths.test";
    }
    s.key_cert_sign = !(ca && d.chance(0.03));
    specs.push_back(s);
    return static_cast<int>(specs.size()) - 1;
  }
  void note(const std::string& trait) { shape += (shape.empty() ? "" : ", ") + trait; }
};

}  // namespace

KeyPool::KeyPool(size_t keys) {
  for (size_t i = 0; i < keys; ++i) {
    UniquePtr<EVP_PKEY> k(EVP_EC_gen("P-256"));
    if (!k) throw std::runtime_error("EVP_EC_gen failed");
    ids_.push_back(spki_key_id(k.get()));
    unsigned char* pt = nullptr;
    const size_t len = EVP_PKEY_get1_encoded_public_key(k.get(), &pt);
    if (len == 0) throw std::runtime_error("EVP_PKEY_get1_encoded_public_key failed");
    points_.emplace_back(reinterpret_cast<const char*>(pt), len);
    OPENSSL_free(pt);
    keys_.push_back(std::move(k));
  }
}

Hierarchy make_hierarchy(uint64_t seed, const KeyPool& pool, int64_t now) {
  Draw w(seed);
  Drawer& d = w.d;
  // Distinct keys for the entities of this hierarchy.
  std::vector<size_t> keys(pool.size());
  for (size_t i = 0; i < keys.size(); ++i) keys[i] = i;
  std::shuffle(keys.begin(), keys.end(), d.rng());
  size_t next_key = 0;
  const auto fresh = [&] { return keys.at(next_key++); };

  const int root = w.entity("Root A", fresh());
  w.roots.push_back(w.spec(root, root));
  // Key rollover of the main root: same name, new key, self-signed, and link certificates.
  int new_root = -1;
  if (d.chance(0.25)) {
    new_root = w.entity("Root A", fresh());
    w.roots.push_back(w.spec(new_root, new_root));
    if (d.chance(0.8)) w.extras.push_back(w.spec(new_root, root));  // NewWithOld
    if (d.chance(0.4)) w.extras.push_back(w.spec(root, new_root));  // OldWithNew
    w.note("rollover");
  }
  const int depth = d.between(1, 4);
  w.note("depth " + std::to_string(depth));
  int parent = new_root >= 0 && d.chance(0.5) ? new_root : root;
  std::vector<int> cas;
  for (int i = 0; i < depth; ++i) {
    const int e = w.entity("CA " + std::to_string(i + 1), fresh());
    w.chain.push_back(w.spec(e, parent));
    cas.push_back(e);
    parent = e;
  }
  const int leaf = w.entity("leaf.paths.test", fresh());
  w.leaf = w.spec(leaf, parent, false);
  // An old root that cross-signs the main root (Let's Encrypt 2021-2024) or the top CA.
  if (d.chance(0.35)) {
    const int old_root = w.entity("Root B", fresh());
    w.roots.push_back(w.spec(old_root, old_root));
    w.extras.push_back(w.spec(d.chance(0.7) ? root : cas.front(), old_root));
    w.note("cross-sign");
  }
  // A same-name CA with another key, issued like the genuine one (re-keyed or impostor).
  if (d.chance(0.3)) {
    const int k = d.between(0, depth - 1);
    const int twin = w.entity(w.ents[static_cast<size_t>(cas[static_cast<size_t>(k)])].cn, fresh());
    const int up = k == 0 ? root : cas[static_cast<size_t>(k - 1)];
    w.extras.push_back(w.spec(twin, up));
    w.note("same-name CA " + std::to_string(k + 1));
  }
  // The same CA re-issued with the same key (another validity, maybe another AKI).
  if (d.chance(0.25)) {
    const int k = d.between(0, depth - 1);
    const Spec orig = w.specs[static_cast<size_t>(w.chain[static_cast<size_t>(k)])];
    const int s = w.spec(orig.subject, orig.issuer);
    w.specs[static_cast<size_t>(s)].days_extra = 40;
    w.extras.push_back(s);
    w.note("re-issued CA " + std::to_string(k + 1));
  }
  // A same-name root with another key (a stranger's "Root A").
  if (d.chance(0.15)) {
    const int other = w.entity("Root A", fresh());
    w.roots.push_back(w.spec(other, other));
    w.note("same-name root");
  }

  std::vector<std::string> pem(w.specs.size());
  for (size_t i = 0; i < w.specs.size(); ++i)
    pem[i] = make_cert(w.specs[i], w.ents, pool, now, seed * 1000 + i + 1);

  Hierarchy h;
  h.seed = seed;
  std::vector<int> rest;
  for (int c : w.chain)
    if (!d.chance(0.07)) rest.push_back(c);
  for (int c : w.extras)
    if (d.chance(0.75)) rest.push_back(c);
  for (int c : w.roots)
    if (d.chance(0.15)) rest.push_back(c);
  if (!rest.empty() && d.chance(0.05)) rest.push_back(rest.front());  // a duplicate
  std::shuffle(rest.begin(), rest.end(), d.rng());
  h.served_pem = pem[static_cast<size_t>(w.leaf)];
  for (int c : rest) h.served_pem += pem[static_cast<size_t>(c)];

  // The first root (the hierarchy's own) is trusted more often than the others, so that about
  // half of the hierarchies verify.
  for (size_t i = 0; i < w.roots.size(); ++i)
    if (d.chance(i == 0 ? 0.8 : 0.5)) h.trust_pem += pem[static_cast<size_t>(w.roots[i])];
  for (int c : w.chain)
    if (d.chance(0.04)) h.trust_pem += pem[static_cast<size_t>(c)];
  for (int c : w.extras)
    if (d.chance(0.04)) h.trust_pem += pem[static_cast<size_t>(c)];
  if (h.trust_pem.empty()) {
    const int stranger = w.entity("Unrelated Root", fresh());
    Spec s;
    s.subject = s.issuer = stranger;
    h.trust_pem = make_cert(s, w.ents, pool, now, seed * 1000 + 999);
  }
  h.shape = w.shape;
  return h;
}

}  // namespace testing
