#include "agent/inventory/certificates.h"

#include <algorithm>
#include <cstring>

#include "pki/judge/finding_scope.h"

namespace certwatch::agent {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool place_less(const Place& a, const Place& b) {
  if (a.node != b.node) return a.target() < b.target();
  return a.position < b.position;
}

// The certificate-scope findings one place judged of the certificate it holds at `p`.
template <class Fn>
void place_findings(const Place& p, Fn&& fn) {
  const std::string at = p.finding_target();
  for (const auto& f : p.entry().report.findings)
    if (f.target == at && pki::is_certificate_finding(f.id)) fn(f);
}

const pki::Finding* by_id(const std::vector<pki::Finding>& fs, const std::string& id) {
  for (const auto& f : fs)
    if (f.id == id) return &f;
  return nullptr;
}

}  // namespace

std::string Place::finding_target() const {
  return target().id + "#" + std::to_string(record().index);
}

const Place* Certificate::managed_place() const {
  for (const auto& p : places)
    if (p.entry().managed() != nullptr) return &p;
  return nullptr;
}

std::optional<Fingerprint> parse_fingerprint(std::string_view hex) {
  Fingerprint f{};
  if (hex.size() != 2 * f.size()) return std::nullopt;
  for (std::size_t i = 0; i < f.size(); ++i) {
    const int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    f[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  return f;
}

std::size_t CertificateIndex::FingerprintHash::operator()(const Fingerprint& f) const noexcept {
  std::size_t h;  // the fingerprint is a cryptographic hash already: its first bytes will do
  std::memcpy(&h, f.data(), sizeof h);
  return h;
}

void CertificateIndex::recompute(Certificate& c) const {
  c.record = c.places.front().entry().certs[c.places.front().position];
  for (const auto& p : c.places)
    if (p.target().source != SourceKind::ledger) {
      c.record = p.entry().certs[p.position];
      break;
    }
  c.findings.clear();
  for (const auto& p : c.places)
    place_findings(p, [&](const pki::Finding& f) {
      auto same = std::find_if(c.findings.begin(), c.findings.end(),
                               [&](const pki::Finding& g) { return g.id == f.id; });
      if (same == c.findings.end())
        c.findings.push_back(f);
      else if (f.severity > same->severity)
        *same = f;
    });
}

void CertificateIndex::update(const Entries::value_type* node, const InventoryEntry* old,
                              const InventoryEntry* fresh, std::vector<CertificateChange>& out) {
  // The fingerprints either entry holds, once each, in the order first seen.
  std::vector<std::pair<Fingerprint, std::string>> touched;
  auto touch = [&](const InventoryEntry* e) {
    if (e == nullptr) return;
    for (const auto& cp : e->certs) {
      auto fp = parse_fingerprint(cp->sha256);
      if (!fp) continue;  // a record without a fingerprint is nobody's certificate
      if (std::none_of(touched.begin(), touched.end(),
                       [&](const auto& t) { return t.first == *fp; }))
        touched.emplace_back(*fp, cp->sha256);
    }
  };
  touch(old);
  touch(fresh);
  for (const auto& [fp, hex] : touched) {
    CertificateChange change;
    change.sha256 = hex;
    auto it = certs_.find(fp);
    std::vector<pki::Finding> before;
    std::vector<Place> places_before;
    if (it != certs_.end()) {
      before = std::move(it->second.findings);
      places_before = it->second.places;
      auto& ps = it->second.places;
      ps.erase(std::remove_if(ps.begin(), ps.end(), [&](const Place& p) { return p.node == node; }),
               ps.end());
    }
    if (fresh != nullptr)
      for (uint32_t i = 0; i < fresh->certs.size(); ++i) {
        if (fresh->certs[i]->sha256 != hex) continue;
        if (it == certs_.end()) it = certs_.emplace(fp, Certificate{}).first;
        auto& ps = it->second.places;
        const Place p{node, i};
        ps.insert(std::upper_bound(ps.begin(), ps.end(), p, place_less), p);
      }
    std::vector<pki::Finding> none;
    const std::vector<pki::Finding>* after = &none;
    if (it != certs_.end() && it->second.places.empty()) {
      change.record = std::move(it->second.record);
      certs_.erase(it);
      change.places_changed = true;
    } else if (it != certs_.end()) {
      recompute(it->second);
      change.now = &it->second;
      change.record = it->second.record;
      change.places_changed = it->second.places != places_before;
      after = &it->second.findings;
    }
    for (const auto& f : *after) {
      const pki::Finding* was = by_id(before, f.id);
      if (was == nullptr)
        change.raised.push_back(f);
      else if (was->severity != f.severity)
        change.changed.push_back({*was, f});
    }
    for (const auto& f : before)
      if (by_id(*after, f.id) == nullptr) change.cleared.push_back(f);
    out.push_back(std::move(change));
  }
}

const Certificate* CertificateIndex::find(std::string_view sha256) const {
  auto fp = parse_fingerprint(sha256);
  if (!fp) return nullptr;
  auto it = certs_.find(*fp);
  return it != certs_.end() ? &it->second : nullptr;
}

std::vector<const Certificate*> CertificateIndex::by_first_place() const {
  std::vector<const Certificate*> out;
  out.reserve(certs_.size());
  for (const auto& [fp, c] : certs_) out.push_back(&c);
  std::sort(out.begin(), out.end(), [](const Certificate* a, const Certificate* b) {
    return place_less(a->places.front(), b->places.front());
  });
  return out;
}

}  // namespace certwatch::agent
