#include "pki/judge/verdict_notes.h"

#include <openssl/objects.h>
#include <openssl/x509_vfy.h>

#include "pki/verify/clients.h"

namespace certwatch::pki {

// The server would present a CA certificate as its identity.
Finding no_end_entity(std::span<const Certificate> chain, const JudgeOptions& o,
                      const std::string& target) {
  const std::string cn = chain.front().subject_cn();
  return make_finding(o.policy, "chain.no_end_entity", target,
                      "no end-entity certificate: all " + std::to_string(chain.size()) +
                          " certificate(s) are CAs; the first, '" +
                          (cn.empty() ? chain.front().subject() : cn) +
                          "', would be presented as the " +
                          (o.purpose == Purpose::client ? "client's" : "server's") + " identity");
}

// OpenSSL trust settings (a TRUSTED CERTIFICATE block: `openssl x509 -addtrust/-addreject`)
// on the anchor decide "certificate rejected"/"not trusted": say so, and which purposes the
// anchor is trusted for, so the reader knows that --purpose changes the answer.
std::string trust_settings_note(const Verdict& v, const ChainAnalysis& a, const TrustIndex& trust) {
  if (v.error != X509_V_ERR_CERT_REJECTED && v.error != X509_V_ERR_CERT_UNTRUSTED) return {};
  if (a.path.empty() || a.path.back().trust_index < 0) return {};
  X509* x = trust.certs()[static_cast<size_t>(a.path.back().trust_index)].native();
  const auto names = [](STACK_OF(ASN1_OBJECT) * objs) {
    std::string out;
    for (int i = 0; i < sk_ASN1_OBJECT_num(objs); ++i) {
      char buf[80];
      OBJ_obj2txt(buf, sizeof buf, sk_ASN1_OBJECT_value(objs, i), 0);
      out += (out.empty() ? "" : ", ") + std::string(buf);
    }
    return out.empty() ? std::string("none") : out;
  };
  STACK_OF(ASN1_OBJECT)* trusted = X509_get0_trust_objects(x);
  STACK_OF(ASN1_OBJECT)* rejected = X509_get0_reject_objects(x);
  if (trusted == nullptr && rejected == nullptr) return {};
  return "; the trust anchor's OpenSSL trust settings decided it (trusted for: " + names(trusted) +
         "; rejected for: " + names(rejected) + "); --purpose server|client (watch[].purpose) " +
         "verifies for that purpose";
}

void add_client_verdicts(std::span<const Certificate> chain, const ChainAnalysis& a, bool unordered,
                         const TrustIndex& trust, const JudgeOptions& options, Report& rep) {
  std::vector<Certificate> served;
  if (unordered)
    for (const PathNode& p : a.path)
      if (p.file_index >= 0) served.push_back(chain[static_cast<size_t>(p.file_index)]);
  const ClientContext cc{unordered ? std::span<const Certificate>(served) : chain, &trust,
                         options.host, options.now};
  for (const auto& family : options.clients) rep.clients.push_back(predict_client(family, cc));
  for (auto& f : client_findings(rep.clients, options.policy, rep.target))
    rep.findings.push_back(std::move(f));
}

}  // namespace certwatch::pki
