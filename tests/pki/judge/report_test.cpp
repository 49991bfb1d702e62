// The role's spelling is a contract of the JSON API, the metric labels and the CLI table:
// the enum must print exactly the words that were there when the role was a string.
#include "pki/judge/report.h"

#include <catch2/catch.hpp>

#include "base/json.h"

using certwatch::pki::CertRole;

TEST_CASE("a certificate role prints the words of the JSON and metric contracts", "[pki][report]") {
  CHECK(to_string(CertRole::leaf) == "leaf");
  CHECK(to_string(CertRole::intermediate) == "intermediate");
  CHECK(to_string(CertRole::root) == "root");
  CHECK(to_string(CertRole::unrelated) == "unrelated");
  CHECK(certwatch::pki::CertRecord{}.role == CertRole::unrelated);

  certwatch::pki::CertRecord c;
  c.role = CertRole::intermediate;
  certwatch::JsonWriter w;
  w.begin_object();
  write_json_fields(w, c);
  w.end_object();
  CHECK(w.str().find("\"role\":\"intermediate\"") != std::string::npos);
}
