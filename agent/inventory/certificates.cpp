#include "agent/inventory/certificates.h"

#include <algorithm>
#include <functional>
#include <string_view>

#include "base/hex.h"
#include "pki/judge/finding_scope.h"

namespace certwatch::agent {
namespace {

bool place_less(const Place& a, const Place& b) {
  if (a.node != b.node) return a.target() < b.target();
  return a.position < b.position;
}

// Calls fn(finding) for each of the certificate's own findings that `e` judged of the
// certificate it holds at `position`.
template <class Fn>
void own_findings(const TargetId& target, const InventoryEntry& e, uint32_t position, Fn&& fn) {
  for (const auto& f : e.report.findings)
    if (pki::is_certificate_finding(f.id) && named_position(e, target.id, f.target) == position)
      fn(f);
}

// What one entry holds, read in one pass over its certificates and one over its findings: the
// positions of each certificate, and at each position the certificate's own findings. An entry
// of N certificates (a bundle, a hostile file of 1,000 CAs) then costs O(N + findings) per
// update, not O(N²).
struct Holdings {
  using Positions = std::unordered_map<Fingerprint, std::vector<uint32_t>, FingerprintHash>;
  const InventoryEntry* entry;
  Positions at;
  std::vector<const Positions::value_type*> order;    // each fingerprint once, as first seen
  std::vector<std::vector<const pki::Finding*>> own;  // by position

  Holdings(const TargetId& target, const InventoryEntry* e) : entry(e) {
    if (e == nullptr) return;
    own.resize(e->certs.size());
    for (uint32_t i = 0; i < e->certs.size(); ++i) {
      auto fp = parse_fingerprint(e->certs[i]->sha256);
      if (!fp) continue;  // a record without a fingerprint is nobody's certificate
      auto [it, fresh] = at.try_emplace(*fp);
      it->second.push_back(i);
      if (fresh) order.push_back(&*it);
    }
    for (const auto& f : e->report.findings) {
      if (!pki::is_certificate_finding(f.id)) continue;
      if (const auto p = named_position(*e, target.id, f.target)) own[*p].push_back(&f);
    }
  }
  const std::vector<uint32_t>& positions(const Fingerprint& fp) const {
    static const std::vector<uint32_t> none;
    auto it = at.find(fp);
    return it != at.end() ? it->second : none;
  }
  // The certificate's fingerprint as the entry writes it.
  const std::string& hex(const Positions::value_type* node) const {
    return entry->certs[node->second.front()]->sha256;
  }
};

FindingTally* tally_of(Certificate& c, const pki::Finding& f) {
  for (auto& t : c.tallies)
    if (t.finding.id == f.id && t.finding.severity == f.severity) return &t;
  return nullptr;
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

std::vector<pki::Finding> Certificate::findings() const {
  std::vector<pki::Finding> out;
  for (const auto& t : tallies) {
    if (t.count == 0) continue;
    auto same = std::find_if(out.begin(), out.end(),
                             [&](const pki::Finding& f) { return f.id == t.finding.id; });
    if (same == out.end())
      out.push_back(t.finding);
    else if (t.finding.severity > same->severity)
      *same = t.finding;
  }
  return out;
}

std::vector<const Place*> Certificate::sorted_places() const {
  std::vector<const Place*> out;
  out.reserve(places.size());
  for (const auto& p : places) out.push_back(&p);
  std::sort(out.begin(), out.end(),
            [](const Place* a, const Place* b) { return place_less(*a, *b); });
  return out;
}

const Place& Certificate::first_place() const {
  return *std::min_element(places.begin(), places.end(), place_less);
}

std::optional<Fingerprint> parse_fingerprint(std::string_view hex) {
  Fingerprint f{};
  if (hex.size() != 2 * f.size()) return std::nullopt;
  for (std::size_t i = 0; i < f.size(); ++i) {
    const int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    f[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  return f;
}

std::size_t FingerprintHash::operator()(const Fingerprint& f) const noexcept {
  // All of it: a fingerprint is random in real life, but a hash of its first bytes alone would
  // put crafted or test fingerprints with a common prefix in one bucket.
  return std::hash<std::string_view>{}(
      std::string_view(reinterpret_cast<const char*>(f.data()), f.size()));
}

void CertificateIndex::update(const Entries::value_type* node, const InventoryEntry* old,
                              const InventoryEntry* fresh, std::vector<CertificateChange>& out) {
  const TargetId& target = node->first;
  const Holdings held_before(target, old), held_now(target, fresh);
  // The fingerprints either entry holds, once each, in the order first seen.
  std::vector<std::pair<const Fingerprint*, const std::string*>> touched;
  for (const auto* h : held_before.order) touched.emplace_back(&h->first, &held_before.hex(h));
  for (const auto* h : held_now.order)
    if (held_before.at.count(h->first) == 0) touched.emplace_back(&h->first, &held_now.hex(h));
  for (const auto& [fp_ptr, hex_ptr] : touched) {
    const Fingerprint& fp = *fp_ptr;
    const std::string& hex = *hex_ptr;
    CertificateChange change;
    change.sha256 = hex;
    auto it = certs_.find(fp);
    if (it == certs_.end()) it = certs_.emplace(fp, Certificate{}).first;
    Certificate& c = it->second;
    const std::vector<pki::Finding> before = c.findings();
    const std::vector<uint32_t>& was = held_before.positions(fp);
    const std::vector<uint32_t>& now = held_now.positions(fp);

    // Places: only when where the entry holds the certificate moved (a new target, a removed
    // one, another file content); seeing the same again leaves them (and their order) alone.
    if (was != now) {
      change.places_changed = true;
      for (uint32_t p : was) {
        auto at = std::find(c.places.begin(), c.places.end(), Place{node, p});
        if (at != c.places.end()) {
          *at = c.places.back();  // order is not kept: sorted_places() is for display
          c.places.pop_back();
          --places_;
        }
      }
      for (uint32_t p : now) {
        c.places.push_back(Place{node, p});
        ++places_;
      }
    }

    // The certificate's own findings: this place's old judgement out, its new one in.
    for (uint32_t p : was)
      for (const pki::Finding* f : held_before.own[p]) {
        FindingTally* t = tally_of(c, *f);
        if (t == nullptr || t->count == 0) continue;
        --t->count;
        if (t->from == node) t->from = nullptr;
      }
    for (uint32_t p : now)
      for (const pki::Finding* f : held_now.own[p]) {
        FindingTally* t = tally_of(c, *f);
        if (t == nullptr) {
          c.tallies.push_back({*f, node, 0});
          t = &c.tallies.back();
        }
        ++t->count;
        if (t->from == nullptr || t->from == node) {
          t->finding = *f;
          t->from = node;
        }
      }
    c.tallies.erase(std::remove_if(c.tallies.begin(), c.tallies.end(),
                                   [](const FindingTally& t) { return t.count == 0; }),
                    c.tallies.end());
    // A tally whose representative left while others still judge so: another one speaks for
    // it (a scan of the places, only in that case).
    for (auto& t : c.tallies) {
      if (t.from != nullptr) continue;
      for (const auto& pl : c.places) {
        own_findings(pl.target(), pl.entry(), pl.position, [&](const pki::Finding& f) {
          if (t.from == nullptr && f.id == t.finding.id && f.severity == t.finding.severity) {
            t.finding = f;
            t.from = pl.node;
          }
        });
        if (t.from != nullptr) break;
      }
    }

    if (c.places.empty()) {
      change.record = std::move(c.record);
      certs_.erase(it);
    } else {
      // The facts: this place's latest reading, unless it is a ledger row and a place that read
      // the certificate gave them; re-picked when this place let go of the certificate.
      const bool ledger = target.source == SourceKind::ledger;
      if (!now.empty()) {
        if (!c.record || !ledger || c.record_from_ledger) {
          c.record = fresh->certs[now.front()];
          c.record_from_ledger = ledger;
        }
      } else {
        const Place* pick = &c.places.front();
        for (const auto& pl : c.places)
          if (pl.target().source != SourceKind::ledger) {
            pick = &pl;
            break;
          }
        c.record = pick->entry().certs[pick->position];
        c.record_from_ledger = pick->target().source == SourceKind::ledger;
      }
      // The managed place: looked for among the others only when this one was it and went.
      const bool lost = c.managed == node && (now.empty() || fresh->managed() == nullptr);
      if (lost) c.managed = nullptr;
      if (!now.empty() && fresh->managed() != nullptr) c.managed = node;
      if (lost)
        for (const auto& pl : c.places)
          if (pl.entry().managed() != nullptr) {
            c.managed = pl.node;
            break;
          }
      change.now = &c;
      change.record = c.record;
    }
    const std::vector<pki::Finding> after =
        change.now != nullptr ? change.now->findings() : std::vector<pki::Finding>{};
    for (const auto& f : after) {
      const pki::Finding* prior = by_id(before, f.id);
      if (prior == nullptr)
        change.raised.push_back(f);
      else if (prior->severity != f.severity)
        change.changed.push_back({*prior, f});
    }
    for (const auto& f : before)
      if (by_id(after, f.id) == nullptr) change.cleared.push_back(f);
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
  std::vector<std::pair<const Place*, const Certificate*>> firsts;
  firsts.reserve(certs_.size());
  for (const auto& [fp, c] : certs_) firsts.emplace_back(&c.first_place(), &c);
  std::sort(firsts.begin(), firsts.end(),
            [](const auto& a, const auto& b) { return place_less(*a.first, *b.first); });
  std::vector<const Certificate*> out;
  out.reserve(firsts.size());
  for (const auto& [p, c] : firsts) out.push_back(c);
  return out;
}

}  // namespace certwatch::agent
