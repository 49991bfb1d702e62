// Hostile certificate files for the bounds of issue 15, made with the OpenSSL API at test
// time (the openssl CLI would take minutes for thousands of certificates).
#pragma once

#include <string>

namespace testing {

// `n` CA certificates (PEM, concatenated) with one subject and issuer name and no key
// identifiers. distinct_keys: certificate i is signed by the key of i+1 (the last by its
// own), as in the report that took `check` 67 s for 1,000. Otherwise every certificate has
// the same key, so every pair verifies: the worst case for issuer search.
std::string same_name_ca_pem(int n, bool distinct_keys);

}  // namespace testing
