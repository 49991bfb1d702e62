// An OpenSSL library context for parsing end-entity certificates cheaply (OpenSSL 3.0).
//
// Why: d2i_X509 decodes the certificate's public key opportunistically through the provider
// decoder framework, and in OpenSSL 3.0 it builds a new decoder context over every decoder
// and key manager of the library context for each certificate: about 1 M instructions, more
// than a signature verification, and most of the cost of judging a chain file (callgrind,
// bench/check_throughput). OpenSSL 3.2 caches that work; Debian 12 has 3.0.
//
// What: a library context whose only provider is ours, built into this program. It offers
// what parsing and verifying a certificate need from the certificate's own context and
// nothing else:
//  - SHA-1 (OpenSSL caches a certificate's SHA-1 while parsing; without it the certificate
//    counts as unusable), computed by the default context's implementation;
//  - a SubjectPublicKeyInfo decoder and a key manager for RSA and named-curve EC keys. The
//    decoder builds the real key in the default context with EVP_PKEY_fromdata (which
//    checks the modulus and the point as OpenSSL's own decoder does) and hands it over
//    wrapped; the key manager answers the size queries OpenSSL makes of every key. The
//    wrapper can do no cryptography in this context: nothing asks it to for an end-entity
//    certificate (its signature is verified with the issuer's key, and OpenSSL only asks
//    whether it has a key at all). See Certificate::from_der_deferred_key for how
//    certificates that can act as issuers are kept out of it.
// Any other key (RSA-PSS, Ed25519, explicit curve parameters, a malformed key) is left
// undecoded here, and the caller parses the certificate in the default context instead.
#pragma once

#include <openssl/types.h>

namespace certwatch::pki {

// The context, made on first use and kept for the life of the process (as OpenSSL's default
// context is); nullptr if it cannot be made. Thread-safe.
OSSL_LIB_CTX* leaf_parse_context();

}  // namespace certwatch::pki
