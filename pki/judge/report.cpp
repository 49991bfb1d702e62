#include "pki/judge/report.h"

#include "base/json.h"

namespace certwatch::pki {

void write_json_fields(JsonWriter& w, const CertRecord& c) {
  w.key("index")
      .value(c.index)
      .key("role")
      .value(to_string(c.role))
      .key("subject")
      .value(c.subject)
      .key("issuer")
      .value(c.issuer)
      .key("subject_cn")
      .value(c.subject_cn)
      .key("issuer_cn")
      .value(c.issuer_cn)
      .key("serial")
      .value(c.serial)
      .key("sha256")
      .value(c.sha256)
      .key("not_before")
      .value(c.not_before)
      .key("not_after")
      .value(c.not_after)
      .key("sans")
      .begin_array();
  for (const auto& s : c.sans) w.value(s);
  w.end_array()
      .key("key_type")
      .value(c.key_type)
      .key("signature_algorithm")
      .value(c.signature_algorithm)
      .key("is_ca")
      .value(c.is_ca);
}

void write_json_fields(JsonWriter& w, const Finding& f) {
  w.key("id")
      .value(f.id)
      .key("severity")
      .value(to_string(f.severity))
      .key("target")
      .value(f.target)
      .key("message")
      .value(f.message);
}

}  // namespace certwatch::pki
